"""Generate a realistic Squid native access.log for benchmarks.

Mixed hosts (update servers, clients, IPv6), CONNECT tunnels and http downloads, padding as Squid
writes it, Squid 3.4 and 6.x result codes, a user name with a space, denials and 407 challenges,
and about 0.1 % malformed lines (truncated lines, cache.log lines).

Example: ``python benchmarks/gen_squid.py out.log 100000``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

CLIENTS = (
    ["192.0.2.10", "192.0.2.20", "198.51.100.30"]
    + [f"192.0.2.{i}" for i in range(100, 200)]
    + [f"2001:db8:10::{i:x}" for i in range(1, 40)]
)
HOSTS = [
    ("www.update.microsoft.com", "203.0.113.41"),
    ("fe2.update.microsoft.com", "203.0.113.42"),
    ("sws.update.microsoft.com", "203.0.113.43"),
    ("download.windowsupdate.com", "203.0.113.50"),
    ("au.download.windowsupdate.com", "203.0.113.51"),
    ("ctldl.windowsupdate.com", "203.0.113.52"),
    ("dl.delivery.mp.microsoft.com", "2001:db8:ffff::60"),
    ("download.microsoft.com", "203.0.113.61"),
] + [(f"www{i}.example.net", f"203.0.113.{100 + i}") for i in range(120)]
USERS = ["-"] * 30 + ["svc-wsus", "CORP\\Jane Doe", "jdoe@corp.example.com"]
MIMES = ["text/html", "application/octet-stream", "application/vnd.ms-cab-compressed", "image/png", "-"]
START = 1793491200.0  # 2026-11-01 00:00 UTC


def _line(rng: random.Random, t: float) -> str:
    client = rng.choice(CLIENTS)
    host, ip = rng.choice(HOSTS)
    user = rng.choice(USERS)
    elapsed = int(rng.expovariate(1 / 300))
    r = rng.random()
    if r < 0.45:
        code = rng.choice(("TCP_TUNNEL/200", "TCP_TUNNEL/200", "TCP_MISS/200"))
        size = rng.randint(300, 900000)
        return f"{t:.3f} {elapsed:6d} {client} {code} {size} CONNECT {host}:443 {user} HIER_DIRECT/{ip} -"
    if r < 0.85:
        code = rng.choice(("TCP_MISS/200", "TCP_HIT/200", "TCP_REFRESH_UNMODIFIED/304", "TCP_MEM_HIT/200"))
        path = f"/c/msdownload/update/software/{rng.getrandbits(32):08x}.cab"
        hier = f"HIER_DIRECT/{ip}" if code.startswith("TCP_MISS") else "HIER_NONE/-"
        return (
            f"{t:.3f} {elapsed:6d} {client} {code} {rng.randint(300, 9000000)} GET http://{host}{path} {user} "
            f"{hier} {rng.choice(MIMES)}"
        )
    if r < 0.93:
        code = rng.choice(("TCP_DENIED/403", "TCP_DENIED/407", "NONE_NONE/403"))
        return f"{t:.3f} {elapsed:6d} {client} {code} 3920 CONNECT {host}:443 - HIER_NONE/- text/html"
    if r < 0.97:
        code = rng.choice(("TCP_MISS/503", "TCP_MISS_ABORTED/000", "NONE_NONE/000"))
        return f"{t:.3f} {elapsed:6d} {client} {code} 0 GET http://{host}:8080/x?y=1 - HIER_DIRECT/{ip} -"
    return f"{t:.3f} {elapsed:6d} {client} NONE_NONE/400 0 - error:transaction-end-before-headers - HIER_NONE/- -"


def _malformed(rng: random.Random, t: float) -> str:
    if rng.random() < 0.5:
        return f"{t:.3f}     12 192.0.2.104 TCP_MISS/200 1834 GET http://www.exam"
    return "2026/11/04 01:12:07 kid1| WARNING: Forwarding loop detected"


def generate(path: Path, n_lines: int, seed: int = 0) -> None:
    """Write ``n_lines`` Squid native lines to ``path`` (about 0.1 % of them malformed)."""
    rng = random.Random(seed)
    t = START
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        batch: list[str] = []
        for _ in range(n_lines):
            t += rng.random() * 0.05
            batch.append(_malformed(rng, t) if rng.random() < 0.001 else _line(rng, t))
            if len(batch) >= 50_000:
                fh.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            fh.write("\n".join(batch) + "\n")


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
