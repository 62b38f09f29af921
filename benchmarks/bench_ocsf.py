"""Benchmark of findings.ocsf.json beside findings.json at many findings, in the same run.

The samples' findings are repeated (each copy with its own id) to N findings; each writer runs in
its own subprocess (wall time, findings/s, peak RSS): the findings.json writer is the baseline,
the OCSF writer should cost about as much (both turn each finding into a JSON object).

Example: ``python benchmarks/bench_ocsf.py --findings 100000``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import measure  # noqa: E402 - benchmarks/ is not a package; the same measurement as every bench

ROOT = HERE.parent
DATA = HERE / ".data"

WRITE = """
import sys
from pathlib import Path
import polars as pl
from analyzer.check import run_check
from analyzer.reports import machine, ocsf
result = run_check([sys.argv[1]], sys.argv[2])
n = int(sys.argv[4])
copies = pl.concat([result.findings] * (n // result.findings.height + 1)).head(n)
result.findings = copies.with_columns(pl.format("{}-{}", "finding_id", pl.int_range(pl.len())).alias("finding_id"))
writer = {"findings.json": machine.write_findings_json, "findings.ocsf.json": ocsf.write}[sys.argv[3]]
writer(result, Path(sys.argv[5]))
"""
SETUP = WRITE.replace("writer(result, Path(sys.argv[5]))", "")  # the check and the copies alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000, help="findings to write (default 100,000)")
    args = parser.parse_args(argv)
    samples, site, out = ROOT / "data" / "samples", ROOT / "data" / "samples" / "site.toml", DATA / "ocsf"
    out.mkdir(parents=True, exist_ok=True)
    n = str(args.findings)
    rows = []
    for label, writer, code in (
        ("setup (check + copies)", "findings.json", SETUP),
        ("findings.json", "findings.json", WRITE),
        ("findings.ocsf.json", "findings.ocsf.json", WRITE),
    ):
        m = measure([sys.executable, "-c", code, str(samples), str(site), writer, n, str(out)])
        rows.append((label, m))
    setup = rows[0][1]["seconds"]
    print(f"{'what':<24} {'findings':>9} {'seconds':>8} {'writer s':>9} {'peak MiB':>9}")
    for label, m in rows:
        print(
            f"{label:<24} {args.findings:>9,} {m['seconds']:>8.2f} {m['seconds'] - setup:>9.2f} {m['peak_mib']:>9.0f}"
        )
    size = {p.name: p.stat().st_size / 2**20 for p in out.glob("*.json")}
    print(", ".join(f"{name}: {mib:.0f} MiB" for name, mib in sorted(size.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
