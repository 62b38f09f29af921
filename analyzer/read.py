"""Reading logs: sources → detected parser → records and rejects, with a summary per file.

This is the first stage of the pipeline. It accounts for every line: each file's summary holds
``lines == records + rejects + sum(skipped)``, and a mismatch is an internal error, never a
silent loss.
"""

from __future__ import annotations

import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from . import parsers
from .errors import AnalyzerError, InputError
from .parsers.base import ParseContext, Parsed, ParseOptions, ParseOutput, Parser
from .schema import conform_flows, empty_flows, empty_rejects
from .sources import CHUNK_BYTES, LineChunk, SourceFile, expand, iter_chunks, prefetch, read_head


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


FILES_SCHEMA = pl.Schema(
    {
        "file": pl.String,
        "format": pl.String,
        "kind": pl.String,
        "status": pl.String,
        "lines": pl.Int64,
        "records": pl.Int64,
        "rejects": pl.Int64,
        "skipped": pl.Int64,
        "first_reject_line": pl.Int64,
        "decode_errors": pl.Int64,
        "lost_events": pl.Int64,
        "damage": pl.String,
    }
)


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
        from .api import frames_to_pandas, read_frames  # the notebook glue builds on this module

        return frames_to_pandas(read_frames(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: totals and one row per input file, all escaped."""
        from .api import read_html

        return read_html(self)


def check_timezone(tz: str) -> str:
    """Return ``tz`` if it is a known IANA zone, else raise a one-line error."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AnalyzerError(f"unknown time zone '{tz}' (use an IANA name such as 'Europe/Berlin' or 'UTC')") from None
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
        summary = _read_one(src, forced, options, progress, sink, kept, rejects)
        files.append(summary)
    # No rechunk: copying every chunk into one buffer would double the peak memory.
    flows = pl.concat(kept.pop("flows"), how="vertical", rechunk=False) if kept.get("flows") else empty_flows()
    evidence = {kind: pl.concat(frames, how="vertical") for kind, frames in kept.items() if frames}
    all_rejects = pl.concat(rejects, how="vertical") if rejects else empty_rejects()
    return ReadResult(flows=flows, rejects=all_rejects, files=files, options=options, evidence=evidence)


def _choose(src: SourceFile, head: list[str], forced: Parser | None, options: ParseOptions) -> Parser | None:
    if forced is not None:
        return forced
    try:
        return parsers.detect(head, options, src.name)
    except InputError:
        if src.from_folder:
            return None
        raise


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy that owns its strings. Polars string columns are views into the buffers they were
    cut from, so a few rejects kept across chunks would pin every chunk's whole text in memory."""
    return pl.from_arrow(frame.to_arrow())


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


def _read_one(src, forced, options, progress, sink, kept, rejects) -> FileSummary:
    head = read_head(src)  # once: it decides both emptiness and the format
    if (empty := _blank_only(src, head)) is not None:
        return empty
    parser = _choose(src, head, forced, options)
    if parser is None:
        return FileSummary(file=src.name, format=None, status="skipped: format not recognised")
    summary = FileSummary(file=src.name, format=parser.name, kind=parser.kind)
    ctx = ParseContext(file=src.name, options=options)
    on_bytes = (lambda n: progress(src, n)) if progress else None
    ctx.progress = on_bytes
    parts = parser.parse_file(src, head, ctx) if parser.parse_file is not None else None
    if parts is None:
        parts = _parse_chunks(parser, src, ctx, on_bytes)
    for n_lines, decode_errors, out, damage in parts:
        if damage is not None:
            summary.damage = damage
        n_skipped = sum(out.skipped.values())
        if out.records.height + out.rejects.height + n_skipped != n_lines:
            raise AnalyzerError(
                f"internal error: {parser.name} accounted for {out.records.height} records, "
                f"{out.rejects.height} rejects and {n_skipped} skipped lines of {n_lines} in {src.name}"
            )
        first = int(out.rejects["line_no"].min()) if out.rejects.height else None
        summary.add(n_lines, out.records.height, out.rejects.height, decode_errors, out.skipped, out.notes, first)
        if out.rejects.height:
            rejects.append(_compact(out.rejects))
        if out.records.height:
            records = conform_flows(out.records) if parser.kind == "flows" else out.records
            if sink is not None:
                sink(parser.kind, records)
            else:
                # Records that are most of their lines refer to most of the text anyway: copying
                # them would only add memory (5M Squid flows: 3.8 -> 2.9 GB without the copy) and
                # time. Few records (DNS answers among other lines, say) are copied.
                few = records.height * 2 < n_lines
                kept.setdefault(parser.kind, []).append(_compact(records) if few else records)
    if summary.rejects and not summary.records and not src.from_folder:
        raise InputError(
            f"nothing parses as {parser.name}: all {summary.rejects} lines rejected "
            f"(first at line {summary.first_reject_line}: {rejects[-1]['reason'][0]})",
            file=src.name,
        )
    return summary


def _parse_chunks(parser: Parser, src: SourceFile, ctx: ParseContext, on_bytes) -> Iterator[Parsed]:
    """The file parsed chunk by chunk, while a thread reads the next chunks."""
    chunks = prefetch(iter_chunks(src, progress=on_bytes))
    run = parser.parse_chunk or (lambda chunk, ctx: parser.parse(chunk.lines, ctx))
    workers = pl.thread_pool_size()
    if parser.concurrent_chunks and workers > 1 and src.size > CHUNK_BYTES:
        # A big file: parse whole chunks side by side, each on one thread, rather than each chunk
        # in slices (splitting one chunk costs more CPU than parsing two at once).
        ctx.threads = 1
        parsed = _parse_concurrently(run, chunks, ctx, workers, parser.state_from_first_chunk)
    else:
        parsed = ((chunk, run(chunk, ctx)) for chunk in chunks)
    for chunk, out in parsed:
        yield Parsed(chunk.lines.height, chunk.decode_errors, out, chunk.damage)


def _parse_concurrently(
    run: Callable[[LineChunk, ParseContext], ParseOutput],
    chunks: Iterator[LineChunk],
    ctx: ParseContext,
    workers: int,
    first_alone: bool,
) -> Iterator[tuple[LineChunk, ParseOutput]]:
    """Parse ``chunks`` on ``workers`` threads (polars releases the GIL), yielding them in order.

    Up to ``workers`` chunks are in flight, which bounds memory. With ``first_alone`` the first
    chunk is parsed before the others start, as it sets up ``ctx.state``.
    """
    if first_alone:
        first = next(chunks, None)
        if first is None:
            return
        yield first, run(first, ctx)
    with ThreadPoolExecutor(workers, thread_name_prefix="analyzer-parse") as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(run, chunk, ctx)))
            if len(pending) >= workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
