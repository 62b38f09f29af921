"""What several commands share: input options, progress, the per-file summary table."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..parsers.base import ParseOptions
from ..read import ReadResult
from ..sources import SourceFile


def add_input_arguments(parser) -> None:
    """Arguments of every command that reads logs."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="log files, globs or folders")
    parser.add_argument("--format", help="read every file as this format (default: detect each file)")
    parser.add_argument(
        "--squid-logformat",
        metavar="DEF",
        help="a Squid logformat definition for custom-format access logs, e.g. '%%ts.%%03tu %%6tr %%>a ...'",
    )
    parser.add_argument(
        "--tz", default=None, metavar="ZONE", help="time zone of logs that record local time (default UTC)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def add_dns_window_argument(parser) -> None:
    """``--dns-window``: how long an answer of the evidence names later flows to its address."""
    parser.add_argument(
        "--dns-window",
        default=None,
        metavar="DURATION|ttl",
        help="how long an answer attributes later flows to its address: 30m, 24h, 7d, or ttl for each "
        "answer's own TTL (default 24h)",
    )


def parse_options(args, default_tz: str = "UTC") -> ParseOptions:
    return ParseOptions(tz=args.tz or default_tz, squid_logformat=args.squid_logformat)


def _bar(amount) -> Progress:
    """A transient bar on stderr: description, bar, ``amount`` (a rich column), time left."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        amount,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@contextmanager
def progress_bar(quiet: bool):
    """A rich progress bar of bytes read per file on a terminal; nothing elsewhere."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    progress = _bar(DownloadColumn())
    tasks: dict[str, int] = {}

    def update(src: SourceFile, done: int) -> None:
        if src.name not in tasks:
            tasks[src.name] = progress.add_task(escape(src.path.name), total=src.size)
        progress.update(tasks[src.name], completed=done)

    with progress:
        yield update


STAGE_LABELS = {
    "reading": "reading and judging",
    "evidence": "attribution evidence",
    "judging": "judging set-aside flows",
    "reports": "writing reports",
}
"""What the check's progress bar says in each stage (:data:`analyzer.check.STAGES`)."""


@contextmanager
def stage_bar(quiet: bool):
    """One rich progress bar through the stages of a check, on a terminal; nothing elsewhere.

    Yields ``update(stage, done, total)`` (or None): the bar restarts at each new stage, its label
    naming it, so it never sits full while work goes on.
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    progress = _bar(TextColumn("{task.percentage:>3.0f}%"))
    task = progress.add_task(STAGE_LABELS["reading"], total=None)
    current = {"stage": "reading"}
    order = list(STAGE_LABELS)

    def update(stage: str, done: int, total: int) -> None:
        if stage != current["stage"]:
            current["stage"] = stage
            step = f"{order.index(stage) + 1}/{len(order)}" if stage in order else ""
            progress.reset(task, total=total or None, description=f"{step} {STAGE_LABELS.get(stage, stage)}")
        progress.update(task, completed=done, total=total or None)

    progress.update(task, description=f"1/{len(order)} {STAGE_LABELS['reading']}")
    with progress:
        yield update


def files_table(result: ReadResult) -> Table:
    """Per file: format, lines, records, rejects and the first reject's line."""
    table = Table(title=f"Inputs (times read as {result.options.tz} where the log has no zone)")
    for col in ("file", "format", "lines", "records", "rejects", "skipped", "first reject"):
        # File names are folded, never cut: the user must see which file a row is about.
        table.add_column(
            col, justify="right" if col not in ("file", "format") else "left", overflow="fold", min_width=len(col)
        )
    for f in result.files:
        table.add_row(
            escape(f.file),
            escape(f.format or f.status),
            f"{f.lines:,}",
            f"{f.records:,}",
            f"{f.rejects:,}",
            f"{f.skipped_total:,}",
            "" if f.first_reject_line is None else str(f.first_reject_line),
        )
    return table


def print_table(table: Table, quiet: bool) -> None:
    if not quiet:
        Console(soft_wrap=False).print(table)
