"""Benchmark of the Spark engine beside the local engine, on the same generated Squid log, in the
same run (the machine is shared: only numbers of one run compare):

* baseline: ``pl.read_lines`` of the raw file (how loaded the machine was);
* whole process: ``analyzer check FILE --format squid ...`` with ``--engine local`` and with
  ``--engine spark`` (local[2], JVM start included), wall and CPU seconds (CPU: this process
  and the children it waited for), peak RSS of the largest process; their findings.json,
  coverage.csv and report.md must be byte-identical;
* warm job: in one process, :func:`analyzer.check.run_check` and
  :func:`analyzer.engines.spark.check_spark` (local[2], flows written to a Parquet dataset) each
  run once to warm up, then timed; the ratio of the two is the gate (Spark within 2.5x).

Example: ``python benchmarks/bench_spark.py --lines 5000000 --bench squid-realistic``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_check import BASELINE, DATA, SITE, command, source  # noqa: E402 - benchmarks/ is not a package
from run import measure  # noqa: E402

MAX_WARM_RATIO = 2.5

WARM = """
import json, sys, time
from analyzer.pipeline.check import run_check
from analyzer.engines.spark import check_spark, start
src, site, out = sys.argv[1:4]
spark = start("local[2]")
times = {}
for name, run in (
    ("local", lambda o: run_check([src], site, format="squid", output=o)),
    ("spark", lambda o: check_spark(spark, [src], site, format="squid", output=o)),
):
    for attempt in ("warm-up", "timed"):
        t = time.perf_counter()
        result = run(f"{out}/{name}-{attempt}")
        times[f"{name} {attempt}"] = time.perf_counter() - t
    times[f"{name} summary"] = result.summary
spark.stop()
print(json.dumps(times))
"""


def run(n_lines: int, bench: str = "squid") -> tuple[list[dict], dict]:
    src = source(bench, n_lines)
    py = sys.executable
    steps = [
        ("baseline: pl.read_lines", [py, "-c", BASELINE, str(src)]),
        ("analyzer check (local)", [py, "-m", "analyzer", *command(src, DATA / "spark-bench-local")]),
        (
            "analyzer check --engine spark",
            [py, "-m", "analyzer", *command(src, DATA / "spark-bench"), "--engine", "spark"],
        ),
    ]
    rows = []
    for label, argv in steps:
        m = measure(argv)
        rows.append({"what": label, "lines": n_lines, "lines_per_s": n_lines / m["seconds"], **m})
    for name in ("findings.json", "coverage.csv", "report.md"):  # the same answer, or the times mean nothing
        local, spark = (DATA / d / name for d in ("spark-bench-local", "spark-bench"))
        if local.read_bytes() != spark.read_bytes():
            raise SystemExit(f"the engines disagree: {local} != {spark}")
    warm = subprocess.run(
        [py, "-c", WARM, str(src), str(SITE), str(DATA / "spark-warm")], check=True, capture_output=True, text=True
    )
    times = json.loads(warm.stdout.strip().splitlines()[-1])
    if times["local summary"] != times["spark summary"]:
        raise SystemExit(f"the engines disagree: {times['local summary']} != {times['spark summary']}")
    return rows, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines of the generated log (default 1,000,000)")
    parser.add_argument("--bench", default="squid", choices=("squid", "squid-realistic"), help="the generator")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    rows, times = run(args.lines, args.bench)
    print(f"{'what':<32} {'lines':>11} {'seconds':>8} {'cpu s':>7} {'lines/s':>12} {'peak MiB':>9}")
    for r in rows:
        print(
            f"{r['what']:<32} {r['lines']:>11,} {r['seconds']:>8.2f} {r['cpu']:>7.2f} "
            f"{r['lines_per_s']:>12,.0f} {r['peak_mib']:>9.0f}"
        )
    for engine in ("local", "spark"):
        t, first = times[f"{engine} timed"], times[f"{engine} warm-up"]
        print(f"warm job, {engine:<5}: {t:8.2f} s  {args.lines / t:>12,.0f} lines/s  (warm-up {first:.2f} s)")
    ratio = times["spark timed"] / times["local timed"]
    ok = ratio <= MAX_WARM_RATIO
    print(f"warm Spark / local: {ratio:.2f} ({'ok' if ok else 'MISSED'}: at most {MAX_WARM_RATIO})")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "warm": times, "ratio": ratio}) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
