"""What a parser is: a name, a sniff of a file's head, and a vectorized parse of one chunk.

A parse is a single-threaded function of one chunk: the reader (:mod:`analyzer.pipeline.read`)
decides what runs at the same time (chunks side by side, a whole-file reader's parts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

import polars as pl

from ..flows import Evidence, conform_rejects


class Chunk(Protocol):
    """What a parser is handed: ``lines`` (``line_no``, ``text``) and, where the reader has
    them, the bytes the lines were split from (``data``, else None). The pipeline's chunks
    (:class:`analyzer.sources.LineChunk`) are such."""

    lines: pl.DataFrame
    data: bytes | None


S = TypeVar("S")

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]
"""``map(fn, items)`` that yields the results in the items' order: how a whole-file reader runs
its independent parts. The pipeline hands a thread pool's (bounded in flight); the default runs
them one after the other."""


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
    ``#Fields:`` header, for example): an object of the parser's own state class, made on first
    use by :meth:`state_of`.
    """

    file: str
    options: ParseOptions = field(default_factory=ParseOptions)
    state: Any = None
    progress: Callable[[int], None] | None = None
    """For ``parse_file``: called with how many bytes of the file are done, as parts are."""
    map: Mapper = map
    """For ``parse_file``: how to run its parts (see :data:`Mapper`); the reader decides."""

    def state_of(self, kind: type[S]) -> S:
        """This file's parser state, a ``kind`` (a dataclass with defaults) made on first use.
        Example: ``ctx.state_of(HeaderState).fields``."""
        if self.state is None:
            self.state = kind()
        elif not isinstance(self.state, kind):
            raise TypeError(f"the file's parser state is a {type(self.state).__name__}, not a {kind.__name__}")
        return self.state


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


class Resume(NamedTuple):
    """A whole-file reader's last part when it stopped early: the lines after ``after`` are the
    chunked path's (the reader reads them chunk by chunk)."""

    after: int


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
    readers of DNS evidence (records follow :data:`analyzer.flows.EVIDENCE_SCHEMA`).
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
    parse_chunk: Callable[[Chunk, ParseContext], ParseOutput] | None = None
    """Optional: parse a whole chunk, which may keep the bytes its lines were split from
    (``Chunk.data``); the reader prefers it to ``parse``, and both give the same output."""
    parse_file: Callable[[str, int, list[str], ParseContext], Iterator[Parsed | Resume] | None] | None = None
    """Optional: ``parse_file(path, size, head, ctx)`` parses a whole plain file (not
    compressed, no byte-order mark: the reader checks) in parts, for files where reading it
    whole is faster than chunk by chunk; None from it means "read this file chunk by chunk"."""
    concurrent_chunks: bool = False
    """Chunks of one file may be parsed at the same time (``parse`` only reads ``ctx.state``, or
    writes it only for the first chunk: see ``state_from_first_chunk``)."""
    state_from_first_chunk: bool = False
    """The first chunk of a file sets up ``ctx.state``: it is parsed before any other chunk."""
    evidence: Evidence | None = None
    """What the format's flows tell attribution (next hops, sessions by key); None: nothing."""


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
