"""What several commands share: input options, progress, the per-file summary table."""

from __future__ import annotations

import io
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..controls import inert
from ..parsers.base import ParseOptions
from ..pipeline.read import ReadResult
from ..sources import SourceFile


def add_input_arguments(parser, tz_default: str = "UTC") -> None:
    """Arguments of every command that reads logs; ``tz_default`` says in --help what --tz
    defaults to (``check`` reads the site's ``timezone``)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="log files, globs or folders")
    parser.add_argument("--format", help="read every file as this format (default: detect each file)")
    parser.add_argument(
        "--squid-logformat",
        metavar="DEF",
        help="a Squid logformat definition for custom-format access logs, e.g. '%%ts.%%03tu %%6tr %%>a ...'",
    )
    parser.add_argument(
        "--tz", default=None, metavar="ZONE", help=f"time zone of logs that record local time (default: {tz_default})"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def dns_formats() -> list[str]:
    """The registered readers of DNS evidence, for help texts."""
    from ..parsers import REGISTRY

    return [name for name, parser in REGISTRY.items() if parser.kind == "dns"]


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
            tasks[src.name] = progress.add_task(escape(inert(src.path.name)), total=src.size)
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
    """Per file: format, lines, flows (or DNS answers), rejects, the first reject's line, and its
    evidence gaps when some file has any."""
    table = Table(title=f"Inputs (times read as {result.options.tz} where the log has no zone)")
    gaps = any(f.gaps for f in result.files)
    columns = ("file", "format", "lines", "flows", "rejects", "skipped", "first reject")
    for col in (*columns, "evidence gaps") if gaps else columns:
        # File names are folded, never cut: the user must see which file a row is about.
        table.add_column(
            col,
            justify="right" if col not in ("file", "format", "evidence gaps") else "left",
            overflow="fold",
            min_width=len(col),
        )
    for f in result.files:
        cells = [
            escape(f.file),
            escape(f.format or f.status),
            f"{f.lines:,}",
            f"{f.records:,}" if f.kind != "dns" else f"({f.records:,} DNS answers)",
            f"{f.rejects:,}",
            f"{f.skipped_total:,}",
            "" if f.first_reject_line is None else str(f.first_reject_line),
        ]
        table.add_row(*cells, *(["; ".join(f.gaps)] if gaps else []))
    return table


def gap_lines(result: ReadResult) -> list[str]:
    """One line per file with an evidence gap, for output where the inputs table is not shown."""
    return [f"evidence gap: {f.file}: {'; '.join(f.gaps)}" for f in result.files if f.gaps]


def print_table(table: Table, quiet: bool) -> None:
    """Print ``table`` on stdout (unless ``quiet``), its text made inert first; no value is ever
    cut or wrapped inside a word.

    Piped (cron and CI logs have no width) the table is as wide as its longest values. On a
    terminal it is a table when it fits, else one block per row, ``column: value`` per line. The
    title and caption are lines of their own (rich would fold a long one, a URL, to the table's
    width).
    """
    if quiet:
        return
    table = inert_table(table)
    title, caption = table.title, table.caption
    table.title = table.caption = None
    natural = Measurement.get(_WIDE, _WIDE.options, table).maximum
    terminal = sys.stdout.isatty()
    console = Console(soft_wrap=False) if terminal else Console(width=natural, soft_wrap=False)
    if title:
        console.print(title, soft_wrap=True, highlight=False)
    if not terminal or natural <= console.width:
        console.print(table)
    else:
        print_vertically(table, console)
    if caption:
        console.print(caption, soft_wrap=True, highlight=False)


_WIDE = Console(width=1 << 20, file=io.StringIO())
"""A console wide enough to measure a table's natural width (nothing is printed on it)."""


def print_vertically(table: Table, console: Console) -> None:
    """``table`` for a narrow terminal: per row one ``column: value`` line per column, rows
    apart by a blank line (a value longer than the terminal is wrapped by it, never cut)."""
    headers = [str(c.header) for c in table.columns]
    cells = [list(c._cells) for c in table.columns]  # rich keeps a column's cells here
    pad = max((len(h) for h in headers), default=0)
    for row in range(table.row_count):
        if row:
            console.print()
        for header, column in zip(headers, cells, strict=True):
            value = column[row]
            if isinstance(value, str) and value:
                console.print(f"{escape(header).rjust(pad)}: {value}", soft_wrap=True, highlight=False)


def inert_table(table: Table) -> Table:
    """``table`` with control characters of its title, caption, headers and cells made visible
    (:func:`analyzer.controls.inert`): whatever a command put in it (log text, file names, its
    arguments), nothing printed can drive the terminal. Cells that are not text (rich
    renderables) are the command's own and left alone."""

    def clean(value):
        return inert(value) if isinstance(value, str) else value

    table.title = clean(table.title)
    table.caption = clean(table.caption)
    for column in table.columns:
        column.header = clean(column.header)
        column._cells = [clean(c) for c in column._cells]  # rich keeps a column's cells here
    return table


def say(message: object, *, err: bool = False) -> None:
    """Print one message line (stdout, or stderr with ``err``), made inert: a file name, a host or
    an argument quoted in it is shown with its control characters visible, on one line."""
    print(inert(message), file=sys.stderr if err else sys.stdout)
