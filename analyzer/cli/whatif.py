"""What would change under another policy: the recorded flows judged again, nothing re-read.

  analyzer whatif OUTDIR [--profile NAME] [--wildcard MODE] [--wsus-web-site MODE] [--site OTHER.toml] [-o DIR]
  analyzer whatif PATH... --site SITE.toml [--profile NAME] [--wildcard MODE] [--wsus-web-site MODE]
                  [--other-site OTHER.toml]

With a check's OUTDIR, its flows.parquet is judged again (no log is parsed) under the changed
policy: the profile, the wildcard mode, the WSUS web site, or another site file (--site). With
log paths, they are checked under SITE.toml first. Shows the entries that change with the flows
they touch, the finding groups whose verdict moves (would break, would become required, would
need opening, ...) and the required flows added or removed; writes whatif.csv, whatif.json and
whatif.md into -o DIR (default: OUTDIR).
"""

from __future__ import annotations

import re
from dataclasses import replace

import polars as pl
from rich.markup import escape
from rich.table import Table

from ..errors import AnalyzerError
from ..policy.patterns import WILDCARD_MODES
from ..policy.site import WSUS_PORTS
from .common import print_table

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="OUTDIR|PATH", help="a check's OUTDIR, or log files to check first")
    parser.add_argument("--site", metavar="SITE.toml", help="with OUTDIR: the other site; with PATHs: the site")
    parser.add_argument("--other-site", metavar="OTHER.toml", help="the other site file (with PATHs)")
    parser.add_argument("--profile", metavar="NAME", help="the other allow-list profile (name or file)")
    parser.add_argument("--wildcard", choices=WILDCARD_MODES, help="the other wildcard mode")
    parser.add_argument("--wsus-web-site", choices=tuple(WSUS_PORTS), help="the other WSUS web site (ports)")
    parser.add_argument("--dns", nargs="+", default=[], metavar="PATH", help="DNS evidence (with PATHs)")
    parser.add_argument("--format", help="read every log as this format (with PATHs)")
    parser.add_argument("--tz", metavar="ZONE", help="time zone of logs that record local time (with PATHs)")
    parser.add_argument("-o", "--output", metavar="DIR", help="write whatif.csv, whatif.json, whatif.md here")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _cell(value) -> str:
    return escape(_CONTROL.sub("?", "" if value is None else str(value)))


def _table(title: str, frame, columns: list[str]) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold", justify="right" if col in ("port", "flows") else "left")
    for row in frame.select(columns).iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return table


def run(args) -> int:
    from ..outdir import is_outdir, load_outdir
    from ..policy import load_policy
    from ..whatif import whatif, write_whatif

    if len(args.paths) == 1 and is_outdir(args.paths[0]):
        try:
            recorded = load_outdir(args.paths[0])
        except AnalyzerError:
            if not args.site:  # the check's site file moved: the other site stands in for it
                raise
            recorded = load_outdir(args.paths[0], site=args.site)
        source, base, other_site = args.paths[0], recorded.policy, args.other_site or args.site
        output = args.output or args.paths[0]
    else:
        if not args.site:
            raise AnalyzerError("give --site SITE.toml with log paths (or one OUTDIR of 'analyzer check')")
        from ..check import run_check

        source = run_check(args.paths, args.site, format=args.format, dns=args.dns, tz=args.tz)
        base, other_site, output = source.policy, args.other_site, args.output
    if not (other_site or args.profile or args.wildcard or args.wsus_web_site):
        raise AnalyzerError("nothing to change: give --profile, --wildcard, --wsus-web-site or another site file")
    site = load_policy(other_site).site if other_site else base.site
    changes = {}
    if args.wildcard:
        changes["wildcard"] = args.wildcard
    if args.wsus_web_site:
        changes["wsus_web_site"] = args.wsus_web_site
    site = replace(site, **changes) if changes else site
    # Without another profile or site: the same profile (even one given by file), other settings.
    after = load_policy(site, profile=args.profile) if args.profile or other_site else replace(base, site=site)
    result = whatif(source, after)
    written = write_whatif(result, output) if output else []
    if not args.quiet:
        cols = ["host", "change", "before", "after", "flows"]
        print_table(_table("Entries that change", result.entries, cols), False)
        moves = result.changes.with_columns(pl.coalesce("host", "address").alias("destination"))
        cols = ["outcome", "server", "destination", "port", "scheme", "before", "after", "flows"]
        print_table(_table("Verdicts that move", moves, cols), False)
        cols = ["change", "server", "entry", "scheme", "port", "status", "outcome"]
        print_table(_table("Required flows added or removed", result.required, cols), False)
        if written:
            print("written: " + ", ".join(str(p) for p in written))
    return 0
