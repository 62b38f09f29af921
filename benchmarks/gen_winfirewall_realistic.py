"""Generate an update server's pfirewall.log with realistic cardinality, and its DNS evidence.

The layout is ``gen_winfirewall.py``'s (header re-written every 200,000 lines, lost-event lines,
drops, DNS, ICMP); the outbound destinations are those of the update server in ``realistic.py``:
Microsoft's update hosts mostly (``SERVER_MICROSOFT``), otherwise any of the 60,000 hosts,
uniformly (thousands of distinct rare destinations). The DNS client log beside it
(``<path>.dns.csv``) answers each host name seen twice a day, Microsoft's through a CNAME, so
attribution has tens of thousands of (address, name) pairs, some addresses shared by several
names as CDN addresses are.

Example: ``python benchmarks/gen_winfirewall_realistic.py out.log 1000000``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
from gen_winfirewall import SERVER, START, dns_path
from gen_winfirewall import generate as generate_log
from realistic import SERVER_MICROSOFT, population


def generate_with_dns(path: Path, n_lines: int, seed: int = 0) -> None:
    """The log at ``path`` and its DNS evidence at ``<path>.dns.csv``."""
    pop = population(seed)
    rng = np.random.default_rng(seed + 3)
    to_ms = rng.random(n_lines) < SERVER_MICROSOFT
    ms = rng.integers(0, len(pop.microsoft), n_lines)
    other = rng.integers(0, len(pop.hosts), n_lines)
    generate_log(path, n_lines, seed, destinations=np.where(to_ms, pop.microsoft_ips[ms], pop.host_ips[other]))
    seen = np.unique(other[~to_ms])
    names = np.concatenate([pop.microsoft, pop.hosts[seen]])
    addresses = np.concatenate([pop.microsoft_ips, pop.host_ips[seen]])
    base = START - np.timedelta64(1, "h")  # local CET -> UTC
    answers = []
    for half_day in range(2):
        offset = rng.integers(0, 43_000, len(names)) + half_day * 43_200
        t = (base + offset.astype("timedelta64[s]")).astype(str)
        answers.append(
            pl.DataFrame({"t": t, "name": names, "ip": addresses, "ms": np.arange(len(names)) < len(pop.microsoft)})
        )
    frame = pl.concat(answers).sort("t")
    cname = pl.format("{}Z,{},{},CNAME,{}.edgesuite.net,3600", "t", pl.lit(SERVER), "name", "name")
    a = pl.format("{}Z,{},{},A,{},300", "t", pl.lit(SERVER), "name", "ip")
    rows = frame.select(pl.when("ms").then(pl.concat_str([cname, a], separator="\n")).otherwise(a).alias("row"))["row"]
    dns_path(path).write_text("time,client,query,type,answer,ttl\n" + "\n".join(rows.to_list()) + "\n")


if __name__ == "__main__":
    generate_with_dns(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
