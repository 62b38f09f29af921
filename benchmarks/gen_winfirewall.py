"""Generate a realistic Windows Firewall pfirewall.log (and DNS evidence for attribution benches).

The log is what an update server's firewall writes over a day: outbound ALLOW/DROP of TCP 80/443
to a pool of CDN addresses, DNS and NTP to internal servers, inbound drops from the internet,
ICMP, a header re-written after a restart every ~200,000 lines, an ``INFO-EVENTS-LOST`` line now
and then, and the 18-field header with ``pid``. Addresses are documentation ranges.

``generate_dns(path, log_lines, seed)`` writes a dnscsv file of answers tying the log's CDN
addresses to Microsoft update host names through CNAME chains (with some addresses shared by two
names and some never answered), as a DNS client log of the same day would show.

Example: ``python benchmarks/gen_winfirewall.py out.log 1000000``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

HEADER = (
    "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
    "icmptype icmpcode info path pid\n\n"
)
START = np.datetime64("2026-11-03T00:00:00")
SERVER = "192.0.2.10"
UPDATE_HOSTS = (
    "www.update.microsoft.com",
    "fe2.update.microsoft.com",
    "sws.update.microsoft.com",
    "download.windowsupdate.com",
    "au.download.windowsupdate.com",
    "ctldl.windowsupdate.com",
    "dl.delivery.mp.microsoft.com",
    "download.microsoft.com",
)
CDN_SUFFIX = (".nsatc.net", ".nsatc.net", ".nsatc.net", ".edgesuite.net", ".edgesuite.net", ".v0cdn.net")
N_CDN = 4096
"""Distinct CDN addresses the server talks to."""


def cdn_addresses() -> list[str]:
    """The pool of CDN addresses (documentation ranges; a few IPv6)."""
    # Two documentation /24s give 512 IPv4 addresses; the rest are IPv6 in 2001:db8::/32.
    v4 = [f"{'203.0.113' if i % 2 else '198.51.100'}.{(i // 2) % 256}" for i in range(512)]
    v6 = [f"2001:db8:{i // 256:x}::{i % 256:x}" for i in range(N_CDN - len(v4))]
    return v4 + v6


def generate(path: Path, n_lines: int, seed: int = 0, destinations: np.ndarray | None = None) -> None:
    """Write ``n_lines`` data lines of pfirewall.log (plus headers) to ``path``. ``destinations``:
    the outbound destination address of each line (default: drawn from the CDN pool)."""
    rng = np.random.default_rng(seed)
    pool = np.array(cdn_addresses())
    seconds = np.sort(rng.integers(0, 86_400, n_lines))
    stamp = (START + seconds.astype("timedelta64[s]")).astype(str)
    kind = rng.choice(5, n_lines, p=[0.55, 0.2, 0.12, 0.1, 0.03])  # allow-out, drop-out, dns, inbound, icmp
    dst_cdn = pool[rng.integers(0, len(pool), n_lines)] if destinations is None else destinations
    port_out = rng.choice(np.array(["443", "80"]), n_lines, p=[0.7, 0.3])
    src_port = rng.integers(49152, 65535, n_lines).astype(str)
    frame = pl.DataFrame(
        {
            "ts": stamp,
            "kind": kind,
            "cdn": dst_cdn,
            "dport": port_out,
            "sport": src_port,
            "attacker": np.char.add("203.0.113.", rng.integers(1, 255, n_lines).astype(str)),
            "size": rng.integers(40, 1500, n_lines).astype(str),
            "seq": rng.integers(1, 4_294_967_295, n_lines, dtype=np.int64).astype(str),
        }
    )
    date = pl.col("ts").str.slice(0, 10)
    time = pl.col("ts").str.slice(11, 8)
    k = pl.col("kind")
    line = (
        pl.when(k == 0)
        .then(
            pl.format(
                "{} {} ALLOW TCP {} {} {} {} 0 - 0 0 0 - - - SEND 3188",
                date,
                time,
                pl.lit(SERVER),
                "cdn",
                "sport",
                "dport",
            )
        )
        .when(k == 1)
        .then(
            pl.format(
                "{} {} DROP TCP {} {} {} {} 52 S {} 0 64240 - - - SEND 3188",
                date,
                time,
                pl.lit(SERVER),
                "cdn",
                "sport",
                "dport",
                "seq",
            )
        )
        .when(k == 2)
        .then(
            pl.format(
                "{} {} ALLOW UDP {} 192.0.2.53 {} 53 0 - - - - - - - SEND 2104", date, time, pl.lit(SERVER), "sport"
            )
        )
        .when(k == 3)
        .then(
            pl.format(
                "{} {} DROP TCP {} {} {} 3389 {} S {} 0 29200 - - - RECEIVE 4",
                date,
                time,
                "attacker",
                pl.lit(SERVER),
                "sport",
                "size",
                "seq",
            )
        )
        .otherwise(
            pl.format("{} {} ALLOW ICMP {} {} - - 0 - - - - 8 0 - RECEIVE 4", date, time, "attacker", pl.lit(SERVER))
        )
    )
    lines = frame.select(line.alias("l"))["l"]
    # A restart re-writes the header; the firewall sometimes reports lost events.
    with open(path, "w", newline="") as fh:
        fh.write(HEADER.replace("\n", "\r\n"))
        step = 200_000
        for start in range(0, n_lines, step):
            if start:
                fh.write(HEADER.replace("\n", "\r\n"))
                fh.write(
                    f"{stamp[start][:10]} {stamp[start][11:19]} INFO-EVENTS-LOST - - - - - - - - - - - - 7 - -\r\n"
                )
            fh.write("\r\n".join(lines[start : start + step].to_list()) + "\r\n")


def generate_dns(path: Path, seed: int = 0) -> None:
    """Write a dnscsv file answering most of the CDN pool during the log's day (UTC).

    Every 30 minutes each answered address is resolved again: the asked name CNAMEs to a CDN
    name which has the address; one address in 16 is answered for two names, one in 8 never.
    """
    rng = np.random.default_rng(seed + 1)
    pool = cdn_addresses()
    rows = []
    base = START - np.timedelta64(1, "h")  # local CET → UTC
    for i, addr in enumerate(pool):
        if i % 8 == 7:
            continue
        host = UPDATE_HOSTS[i % len(UPDATE_HOSTS)]
        cdn = f"{host}{CDN_SUFFIX[i % len(CDN_SUFFIX)]}"
        kind = "AAAA" if ":" in addr else "A"
        names = [host, "static.media.test"] if i % 16 == 3 else [host]
        for half_hour in range(0, 48):
            t = (base + np.timedelta64(half_hour * 1800 + int(rng.integers(0, 1700)), "s")).astype(str) + "Z"
            for name in names:
                rows.append(f"{t},{SERVER},{name},CNAME,{cdn},3600")
                rows.append(f"{t},{SERVER},{name},{kind},{addr},300")
    path.write_text("time,client,query,type,answer,ttl\n" + "\n".join(rows) + "\n")


def generate_with_dns(path: Path, n_lines: int, seed: int = 0) -> None:
    """The log at ``path`` and its DNS evidence beside it (``<path>.dns.csv``), for the
    attribution bench."""
    generate(path, n_lines, seed)
    generate_dns(dns_path(path), seed)


def dns_path(path: Path) -> Path:
    return path.with_name(path.name + ".dns.csv")


if __name__ == "__main__":
    generate_with_dns(Path(sys.argv[1]), int(sys.argv[2]))
