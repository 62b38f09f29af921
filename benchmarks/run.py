"""Benchmarks: lines/s and peak memory of `analyzer parse`, beside a raw-read baseline.

For each format: generate a realistic file of N lines in benchmarks/.data/ (kept between runs),
then in the same run measure, each in its own subprocess:

* baseline: polars reading the raw lines of the same file (``pl.read_lines``);
* analyzer: ``analyzer parse FILE --format NAME -o OUT.parquet`` (or the bench's own command).

A third row times ``analyzer formats``: the start-up cost every command pays. Wall time,
lines/s and peak RSS (``os.wait4`` rusage of that child) are printed as a table;
``--json FILE`` writes them. Example: ``python benchmarks/run.py squid --lines 5000000``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_paloalto  # noqa: E402 - benchmarks/ is not a package
import gen_paloalto_realistic  # noqa: E402
import gen_squid  # noqa: E402
import gen_squid_realistic  # noqa: E402
import gen_winfirewall  # noqa: E402
import gen_winfirewall_realistic  # noqa: E402

DATA = HERE / ".data"

GENERATORS: dict[str, Callable[[Path, int], None]] = {
    "squid": gen_squid.generate,
    "paloalto": gen_paloalto.generate,
    "paloalto-traffic": gen_paloalto.generate_traffic,
    "winfirewall": gen_winfirewall.generate,
    "attribution": gen_winfirewall.generate_with_dns,
    "check": gen_squid.generate,
    # Realistic cardinality (realistic.py): 60,000 Zipf-popular hosts, 3,200 clients, distinct
    # URL paths; compare each with its low-cardinality bench above, measured in the same run.
    "squid-realistic": gen_squid_realistic.generate,
    "paloalto-realistic": gen_paloalto_realistic.generate,
    "attribution-realistic": gen_winfirewall_realistic.generate_with_dns,
    "check-realistic": gen_squid_realistic.generate,
}
"""Format (or bench) name → ``generate(path, n_lines)``. Add a bench with one line here."""

COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    # 10.x TRAFFIC lines only: no URL logs, so no session evidence and no attribution pass.
    "paloalto-traffic": lambda src, out: ["parse", str(src), "--format", "paloalto", "-o", str(out), "-q"],
    # pfirewall parse plus attribution against a day of DNS answers (compare with "winfirewall").
    "attribution": lambda src, out: _attribution(src, out),
    # The whole compliance check of a Squid log against the sample site (compare with "squid";
    # benchmarks/bench_check.py measures both in one run and checks the 60 % floor).
    "check": lambda src, out: _check(src, out),
    "squid-realistic": lambda src, out: ["parse", str(src), "--format", "squid", "-o", str(out), "-q"],
    "paloalto-realistic": lambda src, out: ["parse", str(src), "--format", "paloalto", "-o", str(out), "-q"],
    "attribution-realistic": lambda src, out: _attribution(src, out),
    "check-realistic": lambda src, out: _check(src, out),
}
"""Bench name → argv after ``python -m analyzer`` given (input, output); the default is
``parse INPUT --format NAME -o OUTPUT -q``. A "check" bench would add its own command here."""


def _attribution(src: Path, out: Path) -> list[str]:
    return [
        *("parse", str(src), "--format", "winfirewall", "--tz", "Europe/Berlin"),
        *("--dns", str(gen_winfirewall.dns_path(src)), "-o", str(out), "-q"),
    ]


def _check(src: Path, out: Path) -> list[str]:
    return [
        *("check", str(src), "--format", "squid", "--site", str(HERE.parent / "data" / "samples" / "site.toml")),
        *("-o", str(out.with_suffix("")), "-q", "--fail-on", "none"),
    ]


BASELINE = "import sys, polars as pl; print(pl.read_lines(sys.argv[1]).height)"


def _command(name: str, src: Path, out: Path) -> list[str]:
    if name in COMMANDS:
        return COMMANDS[name](src, out)
    return ["parse", str(src), "--format", name, "-o", str(out), "-q"]


def measure(argv: list[str]) -> dict:
    """Run ``argv``; its wall seconds, CPU seconds and peak RSS in MiB (of this child only)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(argv)}\n{err}")
    # CPU seconds (user + system) beside wall time: on a shared machine, wall time says how busy
    # the others were as much as how fast the command is; the CPU it used varies far less.
    return {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


DATA_OF = {"check": "squid", "check-realistic": "squid-realistic"}
"""Benches that measure another command on the file of another bench (generated once)."""


def data_file(name: str, n_lines: int) -> Path:
    """The generated input of bench ``name`` with ``n_lines`` lines (generated if missing)."""
    DATA.mkdir(exist_ok=True)
    source = DATA_OF.get(name, name)
    src = DATA / f"{source}-{n_lines}.log"
    if not src.exists():
        t = time.perf_counter()
        # In a child process: on Linux a forked child's peak RSS starts at its parent's, so a
        # generator that held the file in this process would inflate every measurement after it.
        # Written in a folder of its own and moved when complete, so an interrupted run leaves no
        # partial file for the next run to take for a whole one (files beside it, such as a DNS
        # log, move with it).
        partial = DATA / ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import run; run.GENERATORS[{source!r}]"
        subprocess.run([sys.executable, "-c", f"{code}(run.Path({str(partial / src.name)!r}), {n_lines})"], check=True)
        for made in partial.iterdir():
            made.replace(DATA / made.name)
        print(f"generated {src.name} ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    return src


def run_one(name: str, n_lines: int, *, baseline: bool = True) -> list[dict]:
    """Measure bench ``name`` on ``n_lines`` lines: the raw-read baseline and start-up (unless
    ``baseline`` is false) and the bench's command. One row per measurement."""
    src = data_file(name, n_lines)
    out = DATA / f"{name}-{n_lines}.parquet"
    steps = [("analyzer " + _command(name, src, out)[0], [sys.executable, "-m", "analyzer", *_command(name, src, out)])]
    if baseline:
        steps = [
            ("baseline: pl.read_lines", [sys.executable, "-c", BASELINE, str(src)]),
            # The fixed cost of any command (interpreter, imports), to read the next row against.
            ("analyzer startup", [sys.executable, "-m", "analyzer", "formats"]),
            *steps,
        ]
    rows = []
    for label, argv in steps:
        m = measure(argv)
        per_s = None if label == "analyzer startup" else n_lines / m["seconds"]
        rows.append({"bench": name, "what": label, "lines": n_lines, "lines_per_s": per_s, **m})
        # As measured too (a long run interrupted still shows what it measured).
        print(
            f"measured {name} {label} {n_lines:,}: {m['seconds']:.2f} s, {m['cpu']:.2f} CPU s, {m['peak_mib']:.0f} MiB",
            flush=True,
        )
    return rows


def _ranges(rows: list[dict]) -> list[str]:
    """One line per (bench, what, lines) measured more than once: the range of lines/s and peak."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["bench"], r["what"], r["lines"]), []).append(r)
    out = []
    for (bench, what, lines), rs in groups.items():
        if len(rs) < 2 or rs[0]["lines_per_s"] is None:
            continue
        rate = sorted(r["lines_per_s"] for r in rs)
        cpu = sorted(r["cpu"] for r in rs)
        peak = sorted(r["peak_mib"] for r in rs)
        out.append(
            f"{bench:<22} {what:<26} {lines:>11,} {rate[0]:>10,.0f} - {rate[-1]:>10,.0f} lines/s"
            f" {cpu[0]:>6.1f} - {cpu[-1]:>5.1f} CPU s {peak[0]:>6.0f} - {peak[-1]:>5.0f} MiB ({len(rs)} runs)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", metavar="BENCH", help=f"any of {', '.join(GENERATORS)} (default: all)")
    parser.add_argument(
        "--lines", type=int, nargs="+", default=[1_000_000], help="lines per generated file (default 1,000,000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure every bench this many times, interleaved (prints the ranges)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    unknown = [b for b in args.benches if b not in GENERATORS]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)} (known: {', '.join(GENERATORS)})")
    names = args.benches or list(GENERATORS)
    for n in args.lines:  # every input first, so generating does not fall between measurements
        for name in names:
            data_file(name, n)
    rows = []
    for n in args.lines:
        for _ in range(args.repeat):
            # Benches of one file share its baseline: the same bytes read once per round.
            seen: set[str] = set()
            for name in names:
                source = DATA_OF.get(name, name)
                rows += run_one(name, n, baseline=source not in seen)
                seen.add(source)
    print(f"{'bench':<22} {'what':<26} {'lines':>11} {'seconds':>8} {'CPU s':>7} {'lines/s':>12} {'peak MiB':>9}")
    for r in rows:
        print(
            f"{r['bench']:<22} {r['what']:<26} {r['lines']:>11,} {r['seconds']:>8.2f} {r['cpu']:>7.2f} "
            f"{'-' if r['lines_per_s'] is None else format(r['lines_per_s'], ',.0f'):>12} {r['peak_mib']:>9.0f}"
        )
    ranges = _ranges(rows)
    if ranges:
        print("\nranges over the runs (lines/s, peak RSS):")
        print("\n".join(ranges))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
