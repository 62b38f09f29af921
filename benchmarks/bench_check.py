"""Benchmark of the compliance check: `analyzer parse` beside `analyzer check`, in the same run.

On a generated Squid log (any generator of ``run.GENERATORS``: ``squid`` by default, whose
servers are those of ``data/samples/site.toml``), each measured in its own subprocess (wall and
CPU seconds, lines/s, peak RSS):

* baseline: ``pl.read_lines`` of the raw file;
* parse: ``analyzer parse FILE --format squid -o flows.parquet``;
* parse+check: :func:`analyzer.check.run_check` with an output folder plus the machine writers
  (findings.json/csv, coverage.csv; flows.parquet is written by the check as it judges);
* analyzer check: the whole command, every registered report writer included (HTML, charts).

The check streams: it must stay within 1.5 GB and 1.25x the peak RSS of the parse, and at no
less than 70 % of its throughput (the gates this script checks; exit 1 when one fails).

Example: ``python benchmarks/bench_check.py --lines 5000000 --bench squid``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import GENERATORS, measure  # noqa: E402 - benchmarks/ is not a package; the same measurement as every bench

ROOT = HERE.parent
SITE = ROOT / "data" / "samples" / "site.toml"
DATA = HERE / ".data"
REQUIRED_RATIO = 0.70
MAX_RSS_RATIO = 1.25
MAX_RSS_MIB = 1.5 * 1024

BASELINE = "import sys, polars as pl; print(pl.read_lines(sys.argv[1]).height)"
# run_check and the machine-readable writers: the library path a scheduled job would use.
CHECK = """
import sys
from pathlib import Path
from analyzer.check import run_check
from analyzer.reports import machine
result = run_check([sys.argv[1]], sys.argv[2], format="squid", output=sys.argv[3])
for write in (machine.write_findings_json, machine.write_findings_csv, machine.write_coverage_csv,
              machine.write_flows_parquet):
    write(result, Path(sys.argv[3]))
print(result.summary)
"""


def command(src: Path, out: Path) -> list[str]:
    """``analyzer check`` arguments for ``benchmarks/run.py`` (the "check" bench)."""
    return ["check", str(src), "--format", "squid", "--site", str(SITE), "-o", str(out), "-q", "--fail-on", "none"]


def source(bench: str, n_lines: int) -> Path:
    """The generated log of ``bench`` (made once, in a child process: its memory stays out of the
    measurements)."""
    DATA.mkdir(exist_ok=True)
    src = DATA / f"{bench}-{n_lines}.log"
    if not src.exists():
        t = time.perf_counter()
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import run, pathlib"
        subprocess.run(
            [sys.executable, "-c", f"{code}; run.GENERATORS[{bench!r}](pathlib.Path({str(src)!r}), {n_lines})"],
            check=True,
        )
        print(f"generated {src.name} ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    return src


def run(n_lines: int, bench: str = "squid") -> list[dict]:
    """Generate (once) and measure; returns one row per measurement."""
    src = source(bench, n_lines)
    py = sys.executable
    steps = [
        ("baseline: pl.read_lines", [py, "-c", BASELINE, str(src)]),
        ("parse", [py, "-m", "analyzer", "parse", str(src), "--format", "squid", "-o", str(DATA / "p.parquet"), "-q"]),
        ("parse+check (library)", [py, "-c", CHECK, str(src), str(SITE), str(DATA / "check-lib")]),
        ("analyzer check (all writers)", [py, "-m", "analyzer", *command(src, DATA / "check-cli")]),
    ]
    rows = []
    for label, argv in steps:
        m = measure(argv)
        rows.append({"bench": bench, "what": label, "lines": n_lines, "lines_per_s": n_lines / m["seconds"], **m})
    return rows


def gates(rows: list[dict]) -> dict[str, tuple[float, bool]]:
    """The targets of the streaming check, from one run's rows: name → (value, met)."""
    parse, check = rows[1], rows[3]
    ratio = check["lines_per_s"] / parse["lines_per_s"]
    rss = check["peak_mib"] / parse["peak_mib"]
    return {
        "check throughput / parse": (ratio, ratio >= REQUIRED_RATIO),
        "check peak RSS / parse": (rss, rss <= MAX_RSS_RATIO),
        "check peak RSS MiB": (check["peak_mib"], check["peak_mib"] <= MAX_RSS_MIB),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000, help="lines of the generated log (default 5,000,000)")
    parser.add_argument("--bench", default="squid", choices=[g for g in GENERATORS if "squid" in g or g == "check"])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    rows = run(args.lines, args.bench)
    print(f"{'what':<30} {'lines':>11} {'seconds':>8} {'cpu s':>7} {'lines/s':>12} {'peak MiB':>9}")
    for r in rows:
        print(
            f"{r['what']:<30} {r['lines']:>11,} {r['seconds']:>8.2f} {r.get('cpu', 0):>7.2f} "
            f"{r['lines_per_s']:>12,.0f} {r['peak_mib']:>9.0f}"
        )
    met = gates(rows)
    for name, (value, ok) in met.items():
        print(f"{name}: {value:,.2f} ({'ok' if ok else 'MISSED'})")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "gates": met}) + "\n")
    return 0 if all(ok for _value, ok in met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
