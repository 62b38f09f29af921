"""Generate PAN-OS 10.x syslog with realistic cardinality (see ``realistic.py``): TRAFFIC with
about 10 % URL logs, session ids recycled as a firewall's dataplane recycles them.

Destinations are the 60,000 Zipf-popular hosts of ``realistic.py`` (their addresses in
198.18.0.0/15) and Microsoft's update hosts, sources its 3,200 clients and the three update
servers of ``data/samples/site.toml``. A URL log precedes the TRAFFIC end log of its session
and names its host with a distinct path. Session ids run from 1 to ``SESSIONS`` and start over,
so one id belongs to many sessions over the file (the session join must tell them apart by
time, as with real logs). The line layouts are ``gen_paloalto.py``'s.

Example: ``python benchmarks/gen_paloalto_realistic.py out.log 1000000``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from gen_paloalto import APPS, traffic_line, url_line
from realistic import pick_hosts, population

SESSIONS = 65_536
"""Session ids are recycled after this many sessions."""
BATCH = 100_000


def generate(path: Path, n_lines: int, seed: int = 0, url_share: float = 0.1) -> None:
    """Write ``n_lines`` PAN-OS syslog lines to ``path``: TRAFFIC, and about ``url_share`` URL logs."""
    pop = population(seed)
    rng = np.random.default_rng(seed + 2)
    t = datetime(2026, 11, 2, 8, 0, 0)
    written = session = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < n_lines:
            n = min(BATCH, n_lines - written)
            src, host, ip = (a.to_list() for a in pick_hosts(pop, rng, n))
            step = rng.integers(1, 12, n).tolist()
            sport = rng.integers(49152, 65535, n).tolist()
            url = (rng.random(n) < url_share).tolist()
            app = rng.integers(0, len(APPS), n).tolist()
            action = rng.choice(["allow"] * 8 + ["deny", "reset-both"], n).tolist()
            url_action = rng.choice(["alert", "alert", "block-url"], n).tolist()
            paths = rng.integers(0, 2**32, n).tolist()
            out = []
            i = 0
            while i < n:
                t += timedelta(milliseconds=step[i])
                session = session % SESSIONS + 1
                if url[i] and i + 1 < n:
                    # The URL log, then its session's TRAFFIC end log: two lines.
                    out.append(
                        url_line(
                            t,
                            src[i],
                            ip[i],
                            sport[i],
                            443,
                            "ssl",
                            host[i],
                            url_action[i],
                            session,
                            f"/c/{paths[i]:08x}/{written + i}.cab",
                        )
                    )
                    i += 1
                    t += timedelta(milliseconds=step[i])
                    out.append(traffic_line(t, src[i - 1], ip[i - 1], sport[i - 1], 443, "ssl", "allow", session))
                else:
                    name, dport = APPS[app[i]]
                    out.append(traffic_line(t, src[i], ip[i], sport[i], dport, name, action[i], session))
                i += 1
            fh.write("\n".join(out) + "\n")
            written += n


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
