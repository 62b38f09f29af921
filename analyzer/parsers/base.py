"""What a parser is: a name, a sniff of a file's head, and a vectorized parse of lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import polars as pl

from ..schema import conform_rejects

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..sources import LineChunk, SourceFile


PORT_SCHEMES: dict[int, str] = {80: "http", 443: "https", 8530: "http", 8531: "https"}
"""Schemes a destination port tells (8530/8531 are WSUS's custom-site ports), for logs that do
not write the scheme (PAN-OS, a proxy's CONNECT)."""


@dataclass(frozen=True)
class ParseOptions:
    """Options the user gives that change how lines are read.

    ``tz``: the IANA zone of logs that record local time without an offset (PAN-OS, pfirewall,
    Squid's ``%tl`` is self-describing). ``squid_logformat``: a Squid ``logformat`` definition
    for files in a custom layout.
    """

    tz: str = "UTC"
    squid_logformat: str | None = None


@dataclass
class ParseContext:
    """Per-file context handed to every chunk of one file.

    ``state`` carries what a parser learned in earlier chunks of the same file (a pfirewall
    ``#Fields:`` header, for example).
    """

    file: str
    options: ParseOptions = field(default_factory=ParseOptions)
    state: dict = field(default_factory=dict)
    threads: int | None = None
    """How many threads a parser may split one chunk over; None: as many as polars' pool has.
    1 when the reader parses several chunks of the file at once."""
    progress: Callable[[int], None] | None = None
    """For ``parse_file``: called with how many bytes of the file are done, as parts are."""

    @property
    def slices(self) -> int:
        """Threads to split one chunk over (``threads``, or the size of polars' pool)."""
        return self.threads or pl.thread_pool_size()


@dataclass
class ParseOutput:
    """What a parser makes of one chunk of lines.

    Every input line ends in exactly one place: a row of ``records`` (flows, or DNS evidence for
    evidence readers), a row of ``rejects``, or a count in ``skipped`` (headers, blank lines,
    comments, lost-event markers), so ``records + rejects + sum(skipped) == lines``.
    """

    records: pl.DataFrame
    rejects: pl.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)
    """Facts for the file summary, e.g. ``{"lost_events": 59}``; numbers are summed over chunks."""


class Parsed(NamedTuple):
    """A part of a file, parsed: the lines it accounts for, of which ``decode_errors`` had bytes
    replaced, and what they became (``output.records + output.rejects + skipped == lines``)."""

    lines: int
    decode_errors: int
    output: ParseOutput
    damage: str | None = None
    """Set on the last part of a file whose compressed data ends in damage (see
    :attr:`analyzer.sources.LineChunk.damage`)."""


@dataclass(frozen=True)
class Parser:
    """A registered log format.

    ``kind`` is ``"flows"`` for traffic logs (records follow ``FLOW_SCHEMA``) or ``"dns"`` for
    readers of DNS evidence (records follow ``attribution.EVIDENCE_SCHEMA``).
    ``sniff(head, options)`` answers whether a file's first lines are this format.
    ``hint(head)`` may explain why a file that is not sniffed still looks close to this format
    (e.g. a Squid log in a custom logformat), for the error message.
    """

    name: str
    description: str
    sniff: Callable[[list[str], ParseOptions], bool]
    parse: Callable[[pl.DataFrame, ParseContext], ParseOutput]
    kind: str = "flows"
    hint: Callable[[list[str]], str | None] | None = None
    parse_chunk: Callable[[LineChunk, ParseContext], ParseOutput] | None = None
    """Optional: parse a whole chunk, which may keep the bytes its lines were split from
    (``LineChunk.data``); the reader prefers it to ``parse``, and both give the same output."""
    parse_file: Callable[[SourceFile, list[str], ParseContext], Iterator[Parsed] | None] | None = None
    """Optional: parse a whole file (given its head) in parts, for files where reading it whole
    is faster than chunk by chunk; None from it means "read this file chunk by chunk"."""
    concurrent_chunks: bool = False
    """Chunks of one file may be parsed at the same time (``parse`` only reads ``ctx.state``, or
    writes it only for the first chunk: see ``state_from_first_chunk``)."""
    state_from_first_chunk: bool = False
    """The first chunk of a file sets up ``ctx.state``: it is parsed before any other chunk."""


def local_to_utc(naive: pl.Expr, tz: str) -> tuple[pl.Expr, pl.Expr]:
    """Naive local times (in line order) read in ``tz``, as UTC, and whether each was ambiguous.

    A time in the hour skipped when clocks go forward does not exist: null (the line is then a
    reject). A time in the hour repeated when clocks go back is ambiguous: when the log is in
    order, it is the second pass if a line before it in the repeated hour showed a later time
    (the clock went back in between), else the first; when the ambiguous lines so read would
    not be in order, every one is read as the first pass. Order is judged within the lines
    given (a read block), so the rare block that starts inside the second pass reads its lines
    as the first. Returns (UTC time, ambiguous) expressions.
    """
    if tz in ("UTC", "Etc/UTC"):  # no gap, no repeated hour: one conversion, nothing to order
        return naive.dt.replace_time_zone("UTC"), pl.lit(False)
    early = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    late = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    ambiguous = (early != late).fill_null(False)
    seen = pl.when(ambiguous).then(naive).cum_max().forward_fill().shift(1)
    second = ambiguous & (seen > naive).fill_null(False)
    resolved = pl.when(second).then(late).otherwise(early)
    in_order = (pl.when(ambiguous).then(resolved).drop_nulls().diff().fill_null(pl.duration()) >= pl.duration()).all()
    return pl.when(in_order).then(resolved).otherwise(early).dt.convert_time_zone("UTC"), ambiguous


def shown(expr: pl.Expr) -> pl.Expr:
    """A value quoted in a reject reason, shortened: log text is untrusted and may be long."""
    value = expr.fill_null("")
    return pl.when(value.str.len_chars() > 40).then(value.str.slice(0, 40) + "…").otherwise(value)


def reject_frame(lines: pl.DataFrame, reason: pl.Expr | str, ctx: ParseContext, fmt: str) -> pl.DataFrame:
    """Build rejects from a frame of ``line_no``/``text`` rows and a reason (expression or text)."""
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return conform_rejects(
        lines.select(
            pl.lit(ctx.file).alias("source_file"),
            pl.col("line_no"),
            pl.lit(fmt).alias("source_format"),
            reason_expr.alias("reason"),
            pl.col("text").alias("raw"),
        )
    )
