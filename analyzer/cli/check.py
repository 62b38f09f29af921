"""Check logs against the site's policy: findings, coverage and every flow with its verdict.

Reads the logs (and --dns evidence), attributes IP-only flows, keeps the flows of the site's
update servers, matches them against the allow-list profile and the hierarchy, and writes
OUTDIR/findings.json, findings.csv, coverage.csv, rejects.csv and flows.parquet (plus any other
registered report). Then, when asked, mails report.md with report.html and findings.csv attached
(--mail-to) and posts a JSON summary to a webhook (--webhook). Exit code 0 when no finding is at
or above --fail-on (default high), 1 when one is, 2 on bad input or usage, 3 when there was
nothing to judge, 4 when a delivery failed (every file is written by then).
"""

from __future__ import annotations

import sys

from rich.markup import escape
from rich.table import Table

from ..check import plural as _plural
from ..delivery import PASSWORD_ENV
from ..errors import AnalyzerError
from ..verdicts import SEVERITIES, VERDICTS
from .common import (
    add_dns_window_argument,
    add_input_arguments,
    files_table,
    gap_lines,
    parse_options,
    print_table,
    say,
    stage_bar,
)

EXIT_NOTHING = 3
"""Exit code of a check that had nothing to judge (no lines, no flows of the servers, none in the
window): a scheduler pointed at a wrong or rotated-away path must not be told all is well."""


def add_arguments(parser) -> None:
    add_input_arguments(parser, tz_default="the site's timezone, else UTC")
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
        "--allow-empty",
        action="store_true",
        help=f"exit 0 (with a warning) when there is nothing to judge, instead of {EXIT_NOTHING}",
    )
    parser.add_argument(
        "--fail-on",
        default="high",
        choices=(*SEVERITIES, "none"),
        help="exit 1 when a finding has this severity or a higher one (default: high; none: never)",
    )
    parser.add_argument(
        "--engine",
        default="local",
        choices=("local", "spark"),
        help="where to run: this process (default) or Spark (needs the 'spark' extra and Java)",
    )
    parser.add_argument(
        "--spark-master", metavar="URL", help="Spark master for --engine spark (default local[2], or spark-submit's)"
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for --engine spark (repeatable), e.g. spark.executor.memory=4g",
    )
    add_delivery_arguments(parser)


EXIT_DELIVERY = 4
"""Exit code when the mail or the webhook could not be delivered (after every output is written)."""


def add_delivery_arguments(parser) -> None:
    group = parser.add_argument_group("delivery", "after every output is written; a failure is one line and exit 4")
    group.add_argument(
        "--mail-to", action="append", default=[], metavar="ADDR", help="mail the report to ADDR (repeat, or a,b)"
    )
    group.add_argument("--mail-from", metavar="ADDR", help="the sender (default: analyzer@ this host's name)")
    group.add_argument(
        "--smtp", metavar="HOST[:PORT]", help="the SMTP server (default: localhost, port 25; 587 with --smtp-starttls)"
    )
    group.add_argument("--smtp-starttls", action="store_true", help="use STARTTLS, verifying the server's certificate")
    group.add_argument(
        "--smtp-user", metavar="USER", help=f"log in as USER (needs --smtp-starttls); the password from ${PASSWORD_ENV}"
    )
    group.add_argument(
        "--mail-on",
        default="always",
        choices=("always", *SEVERITIES),
        help="mail only when a current finding has this severity or a higher one (default: always)",
    )
    group.add_argument("--webhook", metavar="URL", help="POST a JSON summary to URL (Slack, Teams, a SOAR)")


def delivery_settings(args):
    """The mail settings (or None) and the webhook URL (or None), checked before the check runs."""
    from ..delivery import check_webhook, mail_settings

    mail = None
    if args.mail_to:
        mail = mail_settings(
            args.mail_to,
            sender=args.mail_from,
            smtp=args.smtp,
            starttls=args.smtp_starttls,
            user=args.smtp_user,
            mail_on=args.mail_on,
        )
    else:
        given = [f"--{n.replace('_', '-')}" for n in ("mail_from", "smtp", "smtp_user") if getattr(args, n)]
        given += ["--smtp-starttls"] if args.smtp_starttls else []
        given += ["--mail-on"] if args.mail_on != "always" else []
        if given:
            raise AnalyzerError(f"{', '.join(given)}: needs --mail-to")
    return mail, (check_webhook(args.webhook) if args.webhook else None)


def run(args) -> int:
    # Imported here: the other commands do not need the checking and reporting machinery.
    from ..aggregates import FINDINGS_SCHEMA
    from ..api import write_reports
    from ..baseline import baseline_policy, changes, load_baseline, policy_differences
    from ..delivery import deliver
    from ..output import check_output_folder
    from ..pipeline.check import run_check
    from ..reports import WRITERS

    if args.engine != "spark" and (args.spark_master or args.spark_conf):
        raise AnalyzerError("--spark-master and --spark-conf need --engine spark")
    mail, webhook = delivery_settings(args)  # a bad address or server fails now, not after the check
    # Read the baseline first: a bad one should fail in a second, before any output is made.
    previous = load_baseline(args.baseline, FINDINGS_SCHEMA) if args.baseline else None
    outdir = check_output_folder(args.output, "-o")  # before the work: a bad path fails in a second
    with stage_bar(args.quiet) as progress:
        check, names = run_check, None
        if args.engine == "spark":
            from ..engines.spark.session import check_in_session

            check = check_in_session(args.spark_master, args.spark_conf)
            names = [n for n in WRITERS if n != "flows.parquet"]  # the flows/ dataset instead
        result = check(
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
            options=parse_options(args),
            progress=progress,
            output=outdir,  # flows.parquet is written there as the flows are judged
            baseline=previous,
        )
        if args.engine == "spark":
            result = result.with_polars_flows()  # the writers that read flows read the dataset
        written = write_reports(result, outdir, names, progress=progress)
        if args.engine == "spark":
            written.append(outdir / "flows")
    failing = result.failing(args.fail_on)  # only this run's findings count, never resolved ones
    if args.baseline and not args.quiet:
        differences = policy_differences(baseline_policy(args.baseline), result.policy)
        if differences:
            say(
                f"analyzer: warning: the baseline {args.baseline} was made under another policy "
                f"({'; '.join(differences)}): new and resolved findings may come from that change",
                err=True,
            )
    # On a terminal: the inputs, the summary and where things went; piped or in a scheduler's
    # log: the summary alone; --quiet: nothing (the exit code speaks).
    terminal = sys.stdout.isatty()
    if terminal:
        print_table(files_table(result.read), args.quiet)
    elif not args.quiet:  # the inputs table shows them on a terminal; a scheduler's log needs them too
        for line in gap_lines(result.read):
            say(line)
    print_table(summary_table(result), args.quiet)
    if args.baseline and not args.quiet:
        diff = changes(result.findings)
        say(f"since the baseline: {diff['new']} new, {diff['resolved']} resolved, {diff['persisting']} persisting")
    if result.outside_window and not args.quiet:
        say(f"{result.outside_window:,} flows outside {result.window.describe()} not judged")
    if terminal and not args.quiet:
        never = result.coverage.filter(result.coverage["status"] == "never-seen").height
        say(f"coverage: {result.coverage.height - never} of {result.coverage.height} required entries seen")
        say("written: " + ", ".join(str(p) for p in written))
    if failing and not args.quiet:
        say(f"{_plural(failing, 'finding')} at or above {args.fail_on} (--fail-on {args.fail_on}): exit 1")
    delivered = True
    for ok, line in deliver(result, outdir, mail, webhook):  # the files are all written by now
        if not ok:
            say(f"analyzer: error: {line}", err=True)
            delivered = False
        elif not args.quiet:
            say(line)
    if (why := result.nothing_to_judge()) is not None:
        # One line, even with --quiet: it is what a scheduler's log must show.
        where = " ".join(args.paths)
        if not args.allow_empty:
            say(f"analyzer: nothing to judge in {where}: {why}", err=True)
            return EXIT_NOTHING
        say(f"analyzer: warning: nothing to judge in {where}: {why} (--allow-empty)", err=True)
    if not delivered:
        return EXIT_DELIVERY
    return 1 if failing else 0


def summary_table(result) -> Table:
    """Per verdict: severity, flows and findings."""
    from ..baseline import current_only

    p = result.policy
    table = Table(title=f"Verdicts (profile {escape(p.profile.name)}, wildcard {p.wildcard}, times {result.timezone})")
    for col in ("verdict", "severity", "flows", "findings"):
        table.add_column(col, justify="left" if col in ("verdict", "severity") else "right")
    per_verdict = dict(current_only(result.findings).group_by("verdict").len().iter_rows())
    for verdict, severity in ((v, k.severity) for v, k in VERDICTS.items()):
        table.add_row(verdict, severity, f"{result.summary.get(verdict, 0):,}", f"{per_verdict.get(verdict, 0):,}")
    table.add_row("out-of-scope", "", f"{result.summary.get('out-of-scope', 0):,}", "")
    return table
