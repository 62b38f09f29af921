"""Inputs cut into tasks: which files split into byte ranges, and reading one range's lines.

No pyspark here: the driver plans the splits (:func:`plan`), a task reads one
(:func:`read_split`), and both are plain functions that the tests call without Spark.

Hadoop split semantics: a range ``[start, end)`` owns the lines whose first byte lies in it,
so each line is read exactly once, by exactly one task, whatever the range size. A line's true
number is ``1 +`` the newlines before it: a cheap counting pass per range
(:func:`count_newlines`) and a prefix sum on the driver (:func:`number`) give each range the
number of its first line, so ``file:line`` evidence is the local engine's.

Only files whose parser reads any run of lines alone are split (the parser declares
``concurrent_chunks`` and no state from the first chunk): Squid today. Compressed and UTF-16
files, files of other formats (PAN-OS, whose first chunk may say "web export"; pfirewall, whose
``#Fields:`` headers carry over; DNS readers) are read whole by one task, through the local
reader, chunk by chunk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import polars as pl

from ... import parsers
from ...flows import compact, conform_flows
from ...parsers.base import ParseContext, ParseOptions
from ...pipeline import read
from ...pipeline.concurrency import produced
from ...pipeline.read import FileSummary
from ...sources import CHUNK_BYTES, UTF8_BOM, UTF16_BOMS, LineChunk, SourceFile, compression_of, line_end, lines_frame

SPLIT_BYTES = 64 * 1024 * 1024
"""Bytes per range of a big plain file (Hadoop's block size)."""


@dataclass(frozen=True)
class Split:
    """One task's input: a whole file (``end is None``), or the lines starting in
    ``[start, end)`` of a plain file read by ``parser``, numbered from ``first_line``."""

    id: int
    file: SourceFile
    format: str | None = None
    """The forced format (``--format``), for whole files; the detected parser for ranges."""
    start: int = 0
    end: int | None = None
    newlines_before: int = 0
    """Newlines in the file before ``start`` (from :func:`number`)."""

    @property
    def whole(self) -> bool:
        return self.end is None


def _splittable(src: SourceFile, parser) -> bool:
    if parser is None or not parser.concurrent_chunks or parser.state_from_first_chunk or parser.parse_file:
        return False
    if compression_of(src.path) is not None:
        return False
    with open(src.path, "rb") as fh:
        return not fh.read(2).startswith(UTF16_BOMS)


def plan(
    sources: list[tuple[SourceFile, str | None]], options: ParseOptions, split_bytes: int = SPLIT_BYTES
) -> list[Split]:
    """The splits of ``sources`` (each file with its forced format or None), in input order.
    Detection runs here, once per file, as the local reader does it (a file named explicitly
    that no parser recognises is an :class:`~analyzer.errors.InputError` now, not in a task)."""
    out: list[Split] = []
    for src, forced_name in sources:
        forced = parsers.get(forced_name) if forced_name else None
        head = read.read_head(src)
        parser = read.choose_parser(src, head, forced, options) if any(line.strip() for line in head) else None
        size = src.size
        if size <= split_bytes or not _splittable(src, parser):
            out.append(Split(len(out), src, forced_name))
            continue
        for start in range(0, size, split_bytes):
            out.append(Split(len(out), src, parser.name, start, min(start + split_bytes, size)))
    return out


def count_newlines(split: Split) -> int:
    """Newlines in the bytes ``[start, end)`` of a range (0 for a whole file: not needed)."""
    if split.whole:
        return 0
    n = 0
    with open(split.file.path, "rb") as fh:
        fh.seek(split.start)
        left = split.end - split.start
        while left > 0:
            block = fh.read(min(CHUNK_BYTES, left))
            if not block:
                break
            n += block.count(b"\n")
            left -= len(block)
    return n


def number(splits: list[Split], counts: dict[int, int]) -> list[Split]:
    """``splits`` with ``newlines_before`` set: the prefix sum of ``counts`` (newlines per
    split id) over the earlier ranges of the same file."""
    out, seen, total = [], None, 0
    for s in splits:
        if s.whole:
            out.append(s)
            continue
        if s.file != seen:
            seen, total = s.file, 0
        out.append(replace(s, newlines_before=total))
        total += counts[s.id]
    return out


def _line_blocks(split: Split) -> Iterator[tuple[int, bytes]]:
    """(number of the first line, bytes of whole lines) of a range, in blocks of about
    :data:`CHUNK_BYTES`, as :func:`analyzer.sources.iter_chunks` cuts a plain file."""
    with open(split.file.path, "rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        end = min(split.end, size)
        begin = split.start
        if begin > 0:
            raw.seek(begin - 1)
            if raw.read(1) != b"\n":  # a line that started before: the previous range's
                begin = line_end(raw, begin, begin, size)
        if begin >= end:
            return
        line = 1 + split.newlines_before + (begin > split.start)
        finish = line_end(raw, end - 1, end - 1, size)  # the end of the line holding byte end-1
        pos = begin
        if pos == 0:  # the first line owns the BOM (a range may end inside it); it is not text
            raw.seek(0)
            if raw.read(len(UTF8_BOM)) == UTF8_BOM:
                pos = len(UTF8_BOM)
        while pos < finish:
            stop = finish if pos + CHUNK_BYTES >= finish else line_end(raw, pos, pos + CHUNK_BYTES, finish)
            raw.seek(pos)
            data = raw.read(stop - pos)
            if not data:
                return
            yield line, data
            line += data.count(b"\n") + (not data.endswith(b"\n"))
            pos += len(data)


Sink = Callable[[str, pl.DataFrame], None]


def read_split(split: Split, options: ParseOptions, sink: Sink) -> tuple[FileSummary, list[pl.DataFrame]]:
    """Read one split: records go to ``sink(kind, frame)`` chunk by chunk (flows conformed to
    the flow schema); returns its part of the file's summary and its rejects. Every line is
    accounted for, as in :func:`analyzer.pipeline.read.read_logs`."""
    rejects: list[pl.DataFrame] = []
    if split.whole:
        forced = parsers.get(split.format) if split.format else None
        return read.read_file(split.file, forced, options, sink=sink, rejects=rejects), rejects
    parser = parsers.get(split.format)
    summary = FileSummary(file=split.file.name, format=parser.name, kind=parser.kind)
    ctx = ParseContext(file=split.file.name, options=options)
    for first, data in _line_blocks(split):
        frame, errors = lines_frame(data, first)
        if parser.parse_chunk is not None:
            out = parser.parse_chunk(LineChunk(frame, errors, None if errors else data), ctx)
        else:
            out = parser.parse(frame, ctx)
        read.account(summary, frame.height, errors, out)
        if out.rejects.height:
            rejects.append(compact(out.rejects))
        if out.records.height:
            sink(parser.kind, conform_flows(out.records) if parser.kind == "flows" else out.records)
    return summary, rejects


def add(a: FileSummary, b: FileSummary) -> FileSummary:
    """Two parts of one file's summary as one, in order (numbers summed, other notes the last
    part's), as the local reader sums a file's chunks."""
    out = replace(a, skipped=dict(a.skipped), notes=dict(a.notes))
    out.add(b.lines, b.records, b.rejects, b.decode_errors, b.skipped, b.notes, b.first_reject_line)
    return out


def streamed(split: Split, options: ParseOptions, depth: int = 2) -> Iterator[tuple[str, pl.DataFrame] | tuple]:
    """:func:`read_split` as an iterator: ``(kind, frame)`` per chunk of records as they are
    parsed (a thread reads while the caller judges; at most ``depth`` chunks wait), then one
    last ``("summary", (summary, rejects))``. An error of the reader is raised here."""

    def work(put) -> None:
        put(("summary", read_split(split, options, lambda kind, frame: put((kind, frame)))))

    return produced(work, depth, name="analyzer-split")
