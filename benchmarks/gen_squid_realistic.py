"""Generate a Squid native access.log with realistic cardinality (see ``realistic.py``).

60,000 destination hosts with Zipf popularity over 9,000 registrable domains, 3,200 clients
and the three update servers of ``data/samples/site.toml``, every URL path distinct, hundreds of
user names, the result codes, denials, 407 challenges, failures and about 0.1 % malformed lines
of ``gen_squid.py``. Written in batches of 500,000 lines with numpy and polars, so memory stays
flat and 20M lines take about a minute.

Example: ``python benchmarks/gen_squid_realistic.py out.log 1000000``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
from realistic import pick_hosts, population

START_MS = 1_793_491_200_000  # 2026-11-01 00:00 UTC
BATCH = 500_000
MIMES = [
    "text/html",
    "application/octet-stream",
    "application/vnd.ms-cab-compressed",
    "image/png",
    "-",
    "application/json",
    "text/css",
    "application/javascript",
]
EXTS = np.array(["cab", "exe", "js", "css", "png", "json", "html", "psf", "esd"])


def _choice(rng: np.random.Generator, options: list[str], n: int) -> pl.Series:
    return pl.Series(options).gather(rng.integers(0, len(options), n))


def _batch(pop, rng: np.random.Generator, n: int, t0: int, first: int) -> tuple[pl.Series, int]:
    """``n`` lines from time ``t0`` (ms); ``first`` numbers the paths (every path distinct)."""
    t = t0 + np.cumsum(rng.integers(0, 6, n))
    src, host, ip = pick_hosts(pop, rng, n)
    frame = pl.DataFrame(
        {
            "t": t,
            "el": rng.exponential(300, n).astype(np.int64),
            "src": src,
            "host": host,
            "ip": ip,
            "u": rng.integers(0, 800, n),
            "anon": rng.random(n) < 0.7,
            # CONNECT, GET, denied, failed, error line
            "kind": rng.choice(5, n, p=[0.45, 0.40, 0.08, 0.04, 0.03]),
            "size": rng.integers(300, 9_000_000, n),
            "tunnel": _choice(rng, ["TCP_TUNNEL/200", "TCP_TUNNEL/200", "TCP_MISS/200"], n),
            "get": _choice(rng, ["TCP_MISS/200", "TCP_HIT/200", "TCP_REFRESH_UNMODIFIED/304", "TCP_MEM_HIT/200"], n),
            "deny": _choice(rng, ["TCP_DENIED/403", "TCP_DENIED/407", "NONE_NONE/403"], n),
            "fail": _choice(rng, ["TCP_MISS/503", "TCP_MISS_ABORTED/000", "NONE_NONE/000"], n),
            "mime": _choice(rng, MIMES, n),
            "dir": rng.integers(0, 2**32, n, dtype=np.uint32),
            "seq": first + np.arange(n),
            "ext": _choice(rng, EXTS, n),
        }
    ).with_columns(
        (pl.col("t") // 1000).cast(pl.String).alias("ts"),
        (pl.col("t") % 1000).cast(pl.String).alias("ms"),
        pl.col("el").cast(pl.String),
        pl.col("size").cast(pl.String),
        pl.when("anon").then(pl.lit("-")).otherwise(pl.format("CORP\\u{}", "u")).alias("user"),
        pl.format("/c/{}/{}.{}", "dir", "seq", "ext").alias("path"),
    )
    head = pl.format("{}.{} {} {}", "ts", pl.col("ms").str.pad_start(3, "0"), pl.col("el").str.pad_start(6), "src")
    k = pl.col("kind")
    get_code = pl.col("get")
    line = (
        pl.when(k == 0)
        .then(pl.format("{} {} {} CONNECT {}:443 {} HIER_DIRECT/{} -", head, "tunnel", "size", "host", "user", "ip"))
        .when(k == 1)
        .then(
            pl.format(
                "{} {} {} GET http://{}{} {} {} {}",
                head,
                get_code,
                "size",
                "host",
                "path",
                "user",
                pl.when(get_code.str.starts_with("TCP_MISS"))
                .then(pl.format("HIER_DIRECT/{}", "ip"))
                .otherwise(pl.lit("HIER_NONE/-")),
                "mime",
            )
        )
        .when(k == 2)
        .then(pl.format("{} {} 3920 CONNECT {}:443 - HIER_NONE/- text/html", head, "deny", "host"))
        .when(k == 3)
        .then(pl.format("{} {} 0 GET http://{}:8080{}?y=1 - HIER_DIRECT/{} -", head, "fail", "host", "path", "ip"))
        .otherwise(pl.format("{} NONE_NONE/400 0 - error:transaction-end-before-headers - HIER_NONE/- -", head))
    )
    lines = frame.select(line.alias("l"))["l"]
    # About 0.1 % malformed: truncated lines and cache.log lines, as in gen_squid.py.
    bad = np.flatnonzero(rng.random(n) < 0.001)
    if len(bad):
        repl = np.where(
            rng.random(len(bad)) < 0.5,
            "1793491200.000     12 10.20.0.4 TCP_MISS/200 1834 GET http://www.exam",
            "2026/11/04 01:12:07 kid1| WARNING: Forwarding loop detected",
        )
        lines = lines.scatter(bad, pl.Series(repl))
    return lines, int(t[-1])


def generate(path: Path, n_lines: int, seed: int = 0) -> None:
    """Write ``n_lines`` Squid native lines of realistic cardinality to ``path``."""
    pop = population(seed)
    rng = np.random.default_rng(seed + 1)
    t = START_MS
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for first in range(0, n_lines, BATCH):
            lines, t = _batch(pop, rng, min(BATCH, n_lines - first), t, first)
            fh.write("\n".join(lines.to_list()) + "\n")


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
