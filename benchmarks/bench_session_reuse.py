"""PAN-OS session ids that repeat: peak RSS of ``analyzer parse`` and whether each URL log is
attached to its own session (issue 13: 100,000 lines whose ids repeat every 100 sessions must
stay under 1 GB, each URL log on its own session).

Each session is a URL log and the TRAFFIC end log of the same session 1 to 20 s later, its id
``100000 + n % 100``, all sessions to one CDN address whose name changes per session, so the
address cannot tell sessions apart: only the session's span can. The baseline is
``pl.read_lines`` of the same file, measured in the same run. Usage::

    python benchmarks/bench_session_reuse.py [--lines 100000] [--repeat 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_paloalto  # noqa: E402 - benchmarks/ is not a package
import run  # noqa: E402

ADDRESS = "203.0.113.50"


def generate(path: Path, n_lines: int, repeat: int) -> None:
    """Write ``n_lines`` lines: sessions of one URL log (host ``sN.example.com``) and one TRAFFIC
    line each, session ids repeating every ``repeat`` sessions."""
    t = datetime(2026, 11, 2, 8, 0, 0)
    with open(path, "w", encoding="utf-8") as fh:
        for n in range(n_lines // 2):
            session = 100000 + n % repeat
            t += timedelta(seconds=1)
            host = f"s{n}.example.com"
            fh.write(gen_paloalto.url_line(t, "192.0.2.10", ADDRESS, 50000, 443, "ssl", host, "alert", session) + "\n")
            # The generator's TRAFFIC lines last 30 s and end here: the URL log lies in that span.
            end = t + timedelta(seconds=1 + n % 20)
            fh.write(gen_paloalto.traffic_line(end, "192.0.2.10", ADDRESS, 50000, 443, "ssl", "allow", session) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the generated log (default 100,000)")
    parser.add_argument("--repeat", type=int, default=100, help="sessions before an id repeats (default 100)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    run.DATA.mkdir(exist_ok=True)
    src = run.DATA / f"session-reuse-{args.lines}-{args.repeat}.log"
    if not src.exists():
        generate(src, args.lines, args.repeat)
    out = run.DATA / f"session-reuse-{args.lines}-{args.repeat}.parquet"
    baseline = run.measure([sys.executable, "-c", run.BASELINE, str(src)])
    parse = run.measure([sys.executable, "-m", "analyzer", "parse", str(src), "-o", str(out), "-q"])
    flows = pl.read_parquet(out, columns=["line_no", "dst_host", "host_source", "host_names"])
    traffic = flows.filter(pl.col("line_no") % 2 == 0).sort("line_no")
    # Line 2k's session is the one of line 2k - 1, the URL log of s{k-1}.example.com.
    expected = pl.format("s{}.example.com", (pl.col("line_no") // 2 - 1).cast(pl.String))
    own = traffic.select(
        ((pl.col("host_source") == "session") & (pl.col("dst_host") == expected) & (pl.col("host_names") == expected))
        .fill_null(False)
        .sum()
    ).item()
    result = {
        "lines": args.lines,
        "repeat": args.repeat,
        "baseline_read_lines": baseline,
        "analyzer_parse": parse,
        "traffic_flows": traffic.height,
        "attached_to_own_session": own,
    }
    print(
        f"{args.lines:,} lines, ids repeating every {args.repeat} sessions: analyzer parse "
        f"{parse['seconds']:.2f} s, peak {parse['peak_mib']:.0f} MiB (baseline pl.read_lines "
        f"{baseline['seconds']:.2f} s, {baseline['peak_mib']:.0f} MiB); {own:,} of {traffic.height:,} "
        "TRAFFIC flows named by their own session's URL log and no other"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if own == traffic.height and parse["peak_mib"] <= 1024 else 1


if __name__ == "__main__":
    raise SystemExit(main())
