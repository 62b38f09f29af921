"""Benchmark of the compliance check: parse-only beside parse + check, in the same run.

On a generated Squid native log (``gen_squid.py``; its servers are those of
``data/samples/site.toml``), each measured in its own subprocess (wall time, lines/s, peak RSS):

* baseline: ``pl.read_lines`` of the raw file;
* parse-only: ``analyzer parse FILE --format squid -o flows.parquet``, and the library's
  ``read_logs`` keeping the flows in memory as the check does;
* parse+check: :func:`analyzer.check.run_check` plus the machine writers (findings.json/csv,
  coverage.csv, flows.parquet): the same parse, then attribution, scope, match and verdicts;
* analyzer check: the whole command, every registered report writer included (HTML, charts).

The check must keep parse+check at no less than 60 % of parse-only throughput: matching works on
distinct hosts and distinct flow keys, so its cost does not grow with lines.

Example: ``python benchmarks/bench_check.py --lines 5000000``.
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

from run import measure  # noqa: E402 - benchmarks/ is not a package; the same measurement as every bench

ROOT = HERE.parent
SITE = ROOT / "data" / "samples" / "site.toml"
DATA = HERE / ".data"
REQUIRED_RATIO = 0.60

BASELINE = "import sys, polars as pl; print(pl.read_lines(sys.argv[1]).height)"
# run_check and the machine-readable writers: the library path a scheduled job would use.
CHECK = """
import sys
from pathlib import Path
from analyzer.check import run_check
from analyzer.reports import machine
result = run_check([sys.argv[1]], sys.argv[2], format="squid")
for write in (machine.write_findings_json, machine.write_findings_csv, machine.write_coverage_csv,
              machine.write_flows_parquet):
    write(result, Path(sys.argv[3]))
print(result.summary)
"""
READ = (
    "import sys; from analyzer.pipeline.read import read_logs; "
    "print(read_logs([sys.argv[1]], format='squid').flows.height)"
)


def command(src: Path, out: Path) -> list[str]:
    """``analyzer check`` arguments for ``benchmarks/run.py`` (the "check" bench)."""
    return ["check", str(src), "--format", "squid", "--site", str(SITE), "-o", str(out), "-q", "--fail-on", "none"]


def run(n_lines: int) -> list[dict]:
    """Generate (once) and measure; returns one row per measurement."""
    DATA.mkdir(exist_ok=True)
    src = DATA / f"squid-{n_lines}.log"
    if not src.exists():
        t = time.perf_counter()
        # In a child process, so this one's peak memory does not leak into the measurements.
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import gen_squid, pathlib"
        subprocess.run(
            [sys.executable, "-c", f"{code}; gen_squid.generate(pathlib.Path({str(src)!r}), {n_lines})"], check=True
        )
        print(f"generated {src.name} ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    py = sys.executable
    steps = [
        ("baseline: pl.read_lines", [py, "-c", BASELINE, str(src)]),
        (
            "parse-only",
            [py, "-m", "analyzer", "parse", str(src), "--format", "squid", "-o", str(DATA / "p.parquet"), "-q"],
        ),
        ("parse-only (read_logs)", [py, "-c", READ, str(src)]),
        ("parse+check", [py, "-c", CHECK, str(src), str(SITE), str(DATA / "check-lib")]),
        ("analyzer check (all writers)", [py, "-m", "analyzer", *command(src, DATA / "check-cli")]),
    ]
    rows = []
    for label, argv in steps:
        m = measure(argv)
        rows.append({"bench": "check", "what": label, "lines": n_lines, "lines_per_s": n_lines / m["seconds"], **m})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000, help="lines of the generated log (default 5,000,000)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    rows = run(args.lines)
    print(f"{'what':<30} {'lines':>11} {'seconds':>8} {'lines/s':>12} {'peak MiB':>9}")
    for r in rows:
        print(
            f"{r['what']:<30} {r['lines']:>11,} {r['seconds']:>8.2f} {r['lines_per_s']:>12,.0f} {r['peak_mib']:>9.0f}"
        )
    # The gate compares like with like: `analyzer parse` reads and writes flows.parquet, the check
    # reads, judges and writes flows.parquet and the findings. The in-memory read_logs ratio (no
    # output at all) is printed beside it, the stricter view of the same numbers.
    parse, memory, check = (rows[i]["lines_per_s"] for i in (1, 2, 3))
    ratio = check / parse
    verdict = "ok" if ratio >= REQUIRED_RATIO else f"BELOW {REQUIRED_RATIO:.0%}"
    print(f"parse+check at {ratio:.0%} of parse-only throughput ({verdict}); {check / memory:.0%} of read_logs alone")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratio": ratio, "ratio_in_memory": check / memory}) + "\n")
    return 0 if ratio >= REQUIRED_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
