"""Check logs against the site's policy: findings, coverage and every flow with its verdict.

Reads the logs (and --dns evidence), attributes IP-only flows, keeps the flows of the site's
update servers, matches them against the allow-list profile and the hierarchy, and writes
OUTDIR/findings.json, findings.csv, coverage.csv and flows.parquet (plus any other registered
report). Exit code 0 when no finding is at or above --fail-on (default high), 1 when one is,
2 on bad input or usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from ..aggregates import FINDINGS_SCHEMA
from ..parsers.base import ParseOptions
from ..verdicts import SEVERITIES, VERDICTS
from .common import add_dns_window_argument, add_input_arguments, files_table, print_table, stage_bar


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--site", required=True, metavar="SITE.toml", help="the site file (servers, hierarchy, policy)")
    parser.add_argument("--profile", metavar="NAME", help="allow-list profile instead of the site's (name or file)")
    parser.add_argument("--dns", nargs="+", default=[], metavar="PATH", help="DNS evidence files for IP-only flows")
    add_dns_window_argument(parser)
    parser.add_argument("--since", metavar="TIME", help="judge flows from this time (site's zone unless an offset)")
    parser.add_argument("--until", metavar="TIME", help="judge flows before this time")
    parser.add_argument("--last", metavar="DURATION", help="judge the last 30m, 24h, 7d, 2w (before --until or now)")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the results")
    parser.add_argument(
        "--baseline",
        metavar="PREVIOUS/findings.json",
        help="a previous run's findings.json: mark each finding new, persisting or resolved",
    )
    parser.add_argument(
        "--fail-on",
        default="high",
        choices=(*SEVERITIES, "none"),
        help="exit 1 when a finding has this severity or a higher one (default: high; none: never)",
    )


def run(args) -> int:
    # Imported here: the other commands do not need the checking and reporting machinery.
    from ..api import write_reports
    from ..baseline import changes, compare, load_baseline
    from ..check import run_check

    options = ParseOptions(tz=args.tz or "UTC", squid_logformat=args.squid_logformat)
    # Read the baseline first: a bad one should fail in a second, not after the whole check.
    baseline = load_baseline(args.baseline, FINDINGS_SCHEMA) if args.baseline else None
    outdir = Path(args.output)
    with stage_bar(args.quiet) as progress:
        result = run_check(
            args.paths,
            args.site,
            profile=args.profile,
            format=args.format,
            dns=args.dns,
            dns_window=args.dns_window,
            tz=args.tz,
            since=args.since,
            until=args.until,
            last=args.last,
            options=options,
            progress=progress,
            output=outdir,  # flows.parquet is written there as the flows are judged
        )
        failing = result.fails(args.fail_on)  # only this run's findings count, never resolved ones
        if baseline is not None:
            result.findings = compare(result.findings, baseline)
        written = write_reports(result, outdir, progress=progress)
    # On a terminal: the inputs, the summary and where things went; piped or in a scheduler's
    # log: the summary alone; --quiet: nothing (the exit code speaks).
    terminal = sys.stdout.isatty()
    if terminal:
        print_table(files_table(result.read), args.quiet)
    print_table(summary_table(result), args.quiet)
    if baseline is not None and not args.quiet:
        diff = changes(result.findings)
        print(f"since the baseline: {diff['new']} new, {diff['resolved']} resolved, {diff['persisting']} persisting")
    if terminal and not args.quiet:
        never = result.coverage.filter(result.coverage["status"] == "never-seen").height
        print(f"coverage: {result.coverage.height - never} of {result.coverage.height} required flows seen")
        if result.outside_window:
            print(f"{result.outside_window:,} flows outside {result.window.describe()} not judged")
        print("written: " + ", ".join(str(p) for p in written))
    return 1 if failing else 0


def summary_table(result) -> Table:
    """Per verdict: severity, flows and findings."""
    from ..baseline import current_only

    p = result.policy
    table = Table(title=f"Verdicts (profile {escape(p.profile.name)}, wildcard {p.wildcard}, times {result.timezone})")
    for col in ("verdict", "severity", "flows", "findings"):
        table.add_column(col, justify="left" if col in ("verdict", "severity") else "right")
    per_verdict = dict(current_only(result.findings).group_by("verdict").len().iter_rows())
    for verdict, (severity, _) in VERDICTS.items():
        table.add_row(verdict, severity, f"{result.summary.get(verdict, 0):,}", f"{per_verdict.get(verdict, 0):,}")
    table.add_row("out-of-scope", "", f"{result.summary.get('out-of-scope', 0):,}", "")
    return table
