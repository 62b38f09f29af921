"""Benchmark of the commands that work from a check's OUTDIR: ``analyzer whatif`` and
``analyzer remediate``, beside reading the same flows.parquet whole, in the same run.

On a generated Squid native log (``gen_squid.py``) checked once (not measured), each measured in
its own subprocess (wall time, flows/s, peak RSS):

* baseline: ``pl.read_parquet`` of OUTDIR/flows.parquet (every column of every flow in memory);
* ``analyzer whatif OUTDIR --profile wsus-2025``: the flows reduced to the distinct values
  judging reads, judged again, compared;
* ``analyzer remediate OUTDIR -o DIR``: the devices and the findings they logged, every rule file.

Example: ``python benchmarks/bench_whatif.py --lines 1000000``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_check import DATA, SITE  # noqa: E402 - benchmarks/ is not a package
from run import measure  # noqa: E402

BASELINE = "import sys, polars as pl; print(pl.read_parquet(sys.argv[1]).height)"


def run(n_lines: int) -> list[dict]:
    DATA.mkdir(exist_ok=True)
    src = DATA / f"squid-{n_lines}.log"
    if not src.exists():
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import gen_squid, pathlib"
        subprocess.run(
            [sys.executable, "-c", f"{code}; gen_squid.generate(pathlib.Path({str(src)!r}), {n_lines})"], check=True
        )
    out = DATA / f"whatif-{n_lines}"
    t = time.perf_counter()
    check = ["check", str(src), "--format", "squid", "--site", str(SITE), "-o", str(out), "-q", "--fail-on", "none"]
    subprocess.run([sys.executable, "-m", "analyzer", *check], check=True)
    print(f"checked {src.name} in {time.perf_counter() - t:.1f} s (setup, not measured)")
    py = sys.executable
    steps = [
        ("baseline: pl.read_parquet", [py, "-c", BASELINE, str(out / "flows.parquet")]),
        ("analyzer whatif", [py, "-m", "analyzer", "whatif", str(out), "--profile", "wsus-2025", "-q"]),
        ("analyzer remediate", [py, "-m", "analyzer", "remediate", str(out), "-o", str(DATA / "remediate-out")]),
    ]
    rows = []
    for label, argv in steps:
        m = measure(argv)
        rows.append({"what": label, "lines": n_lines, "lines_per_s": n_lines / m["seconds"], **m})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines of the generated log (default 1,000,000)")
    args = parser.parse_args(argv)
    rows = run(args.lines)
    print(f"{'what':<28} {'flows':>11} {'seconds':>8} {'flows/s':>12} {'peak MiB':>9}")
    for r in rows:
        rate = f"{r['lines_per_s']:>12,.0f}"
        print(f"{r['what']:<28} {r['lines']:>11,} {r['seconds']:>8.2f} {rate} {r['peak_mib']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
