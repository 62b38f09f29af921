"""Reading logs: sources → detected parser → records and rejects, with a summary per file.

This is the first stage of the pipeline. It accounts for every line: each file's summary holds
``lines == records + rejects + sum(skipped)``, and a mismatch is an internal error, never a
silent loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import polars as pl

from .. import parsers
from ..errors import AnalyzerError, InputError
from ..flows import FILES_SCHEMA, compact, conform_flows, empty_flows, empty_rejects, zone_error
from ..parsers.base import ParseContext, Parsed, ParseOptions, ParseOutput, Parser, Resume
from ..sources import CHUNK_BYTES, LineChunk, SourceFile, expand, is_plain, iter_chunks, read_head
from .concurrency import mapper, ordered_map, prefetch


@dataclass
class FileSummary:
    """What became of one input file."""

    file: str
    format: str | None
    kind: str | None = None
    lines: int = 0
    records: int = 0
    rejects: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first_reject_line: int | None = None
    decode_errors: int = 0
    damage: str | None = None
    """Why the file's text ended early (a truncated or corrupt compressed file), with the line
    it ended after; its lines up to there are read. An evidence gap, shown per file."""
    notes: dict[str, object] = field(default_factory=dict)
    status: str = "read"
    """``read``, or why the file was passed over (only for files found in a folder)."""

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def lost_events(self) -> int:
        """Events the log itself says were lost (pfirewall ``INFO-EVENTS-LOST`` totals)."""
        value = self.notes.get("lost_events", 0)
        return int(value) if isinstance(value, int | float) else 0

    @property
    def gaps(self) -> list[str]:
        """The file's evidence gaps, one phrase each: traffic that happened but that this file
        cannot show (lost events, text cut by damage, bytes that had to be replaced). A verdict
        of "nothing blocked" holds only as far as the evidence goes, so every output lists them."""
        out = []
        if self.damage:
            out.append(self.damage)
        if self.lost_events:
            out.append(f"{self.lost_events:,} firewall events lost (INFO-EVENTS-LOST)")
        if self.decode_errors:
            out.append(f"{self.decode_errors:,} undecodable bytes replaced")
        return out

    def add(
        self,
        lines: int,
        records: int,
        rejects: int,
        decode_errors: int,
        skipped: dict[str, int],
        notes: dict[str, object],
        first_reject_line: int | None,
    ) -> None:
        """Count one more part of the file (a chunk, or a Spark split) into this summary, in order:
        numbers summed, other notes the last part's, the earliest first reject kept."""
        self.lines += lines
        self.records += records
        self.rejects += rejects
        self.decode_errors += decode_errors
        for k, v in skipped.items():
            self.skipped[k] = self.skipped.get(k, 0) + v
        for k, v in notes.items():
            if isinstance(v, int | float) and isinstance(self.notes.get(k, 0), int | float):
                self.notes[k] = self.notes.get(k, 0) + v
            else:
                self.notes[k] = v
        if first_reject_line is not None and (
            self.first_reject_line is None or first_reject_line < self.first_reject_line
        ):
            self.first_reject_line = first_reject_line

    def as_row(self) -> dict:
        return {
            "file": self.file,
            "format": self.format,
            "kind": self.kind,
            "status": self.status,
            "lines": self.lines,
            "records": self.records,
            "rejects": self.rejects,
            "skipped": self.skipped_total,
            "first_reject_line": self.first_reject_line,
            "decode_errors": self.decode_errors,
            "lost_events": self.lost_events,
            "damage": self.damage,
        }


@dataclass
class ReadResult:
    """Flows, DNS evidence, rejects and per-file summaries of one read.

    Example: ``read = read_logs(["data/samples"]); read.files_frame; read.to_pandas()["flows"]``.
    """

    flows: pl.DataFrame
    rejects: pl.DataFrame
    files: list[FileSummary]
    options: ParseOptions
    evidence: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Records of non-flow readers by kind (``"dns"``)."""

    @property
    def files_frame(self) -> pl.DataFrame:
        """One row per input file: format, lines, records, rejects, skipped, first reject."""
        return pl.DataFrame([f.as_row() for f in self.files], schema=FILES_SCHEMA)

    def to_pandas(self) -> dict:
        """The frames as pandas DataFrames, by name: ``flows``, ``rejects``, ``files``, then one per
        evidence kind read (``dns``). Example: ``read_logs(["data/samples"]).to_pandas()["files"]``.
        """
        from ..reports.notebook import frames_to_pandas, read_frames

        return frames_to_pandas(read_frames(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: totals and one row per input file, all escaped."""
        from ..reports.notebook import read_html

        return read_html(self)


def check_timezone(tz: str) -> str:
    """Return ``tz`` if it is a known IANA zone, else raise a one-line error."""
    if (problem := zone_error(tz)) is not None:
        raise AnalyzerError(problem)
    return tz


Sink = Callable[[str, pl.DataFrame], None]


def read_logs(
    paths: Iterable[str],
    format: str | None = None,
    options: ParseOptions | None = None,
    *,
    progress: Callable[[SourceFile, int], None] | None = None,
    sink: Sink | None = None,
) -> ReadResult:
    """Read log files into flows (and DNS evidence), with rejects and per-file summaries.

    ``paths`` may be files, globs or folders. Without ``format`` each file's format is sniffed.
    Files named explicitly must be readable and recognisable (else :class:`InputError`); files
    found in a folder that no parser recognises are listed with ``status`` saying why. When
    ``sink`` is given, records are handed to it chunk by chunk (``sink(kind, frame)``) instead
    of being kept, so a huge log streams through in bounded memory.

    Example::

        result = read_logs(["data/samples/squid"])
        result.flows.select("time", "dst_host", "action")
    """
    options = options or ParseOptions()
    check_timezone(options.tz)
    forced = parsers.get(format) if format else None
    sources = expand(list(paths))
    kept: dict[str, list[pl.DataFrame]] = {}
    rejects: list[pl.DataFrame] = []
    files: list[FileSummary] = []
    for src in sources:
        summary = read_file(src, forced, options, progress=progress, sink=sink, kept=kept, rejects=rejects)
        files.append(summary)
    # No rechunk: copying every chunk into one buffer would double the peak memory.
    flows = pl.concat(kept.pop("flows"), how="vertical", rechunk=False) if kept.get("flows") else empty_flows()
    evidence = {kind: pl.concat(frames, how="vertical") for kind, frames in kept.items() if frames}
    all_rejects = pl.concat(rejects, how="vertical") if rejects else empty_rejects()
    return ReadResult(flows=flows, rejects=all_rejects, files=files, options=options, evidence=evidence)


def choose_parser(src: SourceFile, head: list[str], forced: Parser | None, options: ParseOptions) -> Parser | None:
    """The parser of a file: ``forced`` (``--format``), else the one its ``head`` is detected as;
    None for a file found in a folder that no parser recognises (one named explicitly raises)."""
    if forced is not None:
        return forced
    try:
        return parsers.detect(head, options, src.name)
    except InputError:
        if src.from_folder:
            return None
        raise


def _blank_only(src: SourceFile, head: list[str]) -> FileSummary | None:
    """The summary of a file holding no text at all (an empty rotated log, say): every line is a
    skipped blank line. None when the file has text."""
    if any(line.strip() for line in head):
        return None
    summary = FileSummary(file=src.name, format=None, status="empty")
    for chunk in iter_chunks(src):
        if (chunk.lines["text"].str.strip_chars() != "").any():
            return None  # blank beyond the sniffed head, then text: not empty after all
        summary.lines += chunk.lines.height
        summary.decode_errors += chunk.decode_errors
    if summary.lines:
        summary.skipped["blank"] = summary.lines
    return summary


def read_file(
    src: SourceFile,
    forced: Parser | None,
    options: ParseOptions,
    *,
    progress: Callable[[SourceFile, int], None] | None = None,
    sink: Sink | None = None,
    kept: dict[str, list[pl.DataFrame]] | None = None,
    rejects: list[pl.DataFrame] | None = None,
) -> FileSummary:
    """Read one file: its records go to ``sink(kind, frame)`` chunk by chunk, or are appended to
    ``kept[kind]``; its rejects to ``rejects``. Returns the file's summary, every line accounted
    for (see :func:`read_logs`)."""
    kept = {} if kept is None else kept
    rejects = [] if rejects is None else rejects
    head = read_head(src)  # once: it decides both emptiness and the format
    if (empty := _blank_only(src, head)) is not None:
        return empty
    parser = choose_parser(src, head, forced, options)
    if parser is None:
        return FileSummary(file=src.name, format=None, status="skipped: format not recognised")
    summary = FileSummary(file=src.name, format=parser.name, kind=parser.kind)
    ctx = ParseContext(file=src.name, options=options)
    on_bytes = (lambda n: progress(src, n)) if progress else None
    for n_lines, decode_errors, out, damage in _parse(parser, src, head, ctx, on_bytes):
        if damage is not None:
            summary.damage = damage
        account(summary, n_lines, decode_errors, out)
        if out.rejects.height:
            rejects.append(compact(out.rejects))
        if out.records.height:
            records = conform_flows(out.records) if parser.kind == "flows" else out.records
            if sink is not None:
                sink(parser.kind, records)
            else:
                # Records that are most of their lines refer to most of the text anyway: copying
                # them would only add memory (5M Squid flows: 3.8 -> 2.9 GB without the copy) and
                # time. Few records (DNS answers among other lines, say) are copied.
                few = records.height * 2 < n_lines
                kept.setdefault(parser.kind, []).append(compact(records) if few else records)
    if summary.rejects and not summary.records and not src.from_folder:
        raise nothing_parses(summary, rejects[-1]["reason"][0])
    return summary


def account(summary: FileSummary, n_lines: int, decode_errors: int, out: ParseOutput) -> None:
    """Count a parsed part of ``n_lines`` lines (a chunk, a Spark split's block) into its file's
    ``summary``; a part whose records, rejects and skipped lines do not add up to its lines is an
    internal error, never a silent loss."""
    n_skipped = sum(out.skipped.values())
    if out.records.height + out.rejects.height + n_skipped != n_lines:
        raise AnalyzerError(
            f"internal error: {summary.format} accounted for {out.records.height} records, "
            f"{out.rejects.height} rejects and {n_skipped} skipped lines of {n_lines} in {summary.file}"
        )
    first = int(out.rejects["line_no"].min()) if out.rejects.height else None
    summary.add(n_lines, out.records.height, out.rejects.height, decode_errors, out.skipped, out.notes, first)


def nothing_parses(summary: FileSummary, first_reason: str) -> InputError:
    """The error of a file named explicitly of which every line was rejected."""
    return InputError(
        f"nothing parses as {summary.format}: all {summary.rejects} lines rejected "
        f"(first at line {summary.first_reject_line}: {first_reason})",
        file=summary.file,
    )


def _parse(parser: Parser, src: SourceFile, head: list[str], ctx: ParseContext, on_bytes) -> Iterator[Parsed]:
    """The file parsed in parts: by the parser's whole-file reader where it has one and takes
    the file (plain files only), else chunk by chunk; a reader that stops early (``Resume``)
    hands the rest of the file to the chunked path."""
    workers = pl.thread_pool_size()
    parts = None
    if parser.parse_file is not None and is_plain(src):
        ctx.progress, ctx.map = on_bytes, mapper(workers)
        parts = parser.parse_file(str(src.path), src.size, head, ctx)
    if parts is None:
        yield from _parse_chunks(parser, src, ctx, on_bytes, workers)
        return
    for part in parts:
        if isinstance(part, Resume):
            yield from _parse_chunks(parser, src, ctx, on_bytes, workers, after=part.after)
        else:
            yield part


def _parse_chunks(
    parser: Parser, src: SourceFile, ctx: ParseContext, on_bytes, workers: int, after: int = 0
) -> Iterator[Parsed]:
    """The file (its lines after line ``after``) parsed chunk by chunk, while a thread reads the
    next chunks. A big file's chunks are parsed side by side, each on one thread (polars runs
    most of one chunk's steps on one core)."""
    chunks = prefetch(iter_chunks(src, progress=on_bytes))
    if after:
        chunks = _after(chunks, after)
    run = parser.parse_chunk or (lambda chunk, ctx: parser.parse(chunk.lines, ctx))
    if not (parser.concurrent_chunks and workers > 1 and src.size > CHUNK_BYTES):
        workers = 1
    if parser.state_from_first_chunk and workers > 1:
        # The first chunk sets up ctx.state: it is parsed before the others start.
        first = next(chunks, None)
        if first is None:
            return
        yield Parsed(first.lines.height, first.decode_errors, run(first, ctx), first.damage)
    # One chunk more than workers in flight: while the consumer (a check judging the last chunk)
    # works, every worker still parses (5M realistic Squid lines: 15.3 -> 12.5 s on 2 cores).
    parsed = ordered_map(lambda chunk: (chunk, run(chunk, ctx)), chunks, workers, ahead=workers + 1)
    for chunk, out in parsed:
        yield Parsed(chunk.lines.height, chunk.decode_errors, out, chunk.damage)


def _after(chunks: Iterator[LineChunk], after: int) -> Iterator[LineChunk]:
    """The chunks' lines after line ``after``."""
    for chunk in chunks:
        lines = chunk.lines
        if not lines.height or lines["line_no"][-1] <= after:
            continue
        if lines["line_no"][0] <= after:
            chunk = LineChunk(lines.filter(pl.col("line_no") > after), chunk.decode_errors, damage=chunk.damage)
        yield chunk
