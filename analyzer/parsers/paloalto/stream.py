"""PAN-OS syslog files read whole by polars' streaming engine, for big plain files.

The chunked path (:func:`paloalto.parse_chunk`) splits each chunk with polars' CSV reader and
orchestrates the rest from Python. For a big plain file, the streaming engine reads and splits
the whole file on every core at once, and only the per-batch checks run in Python:

1. **Lines pass** (``scan_lines``): the lines the CSV reader cannot be trusted with are set
   aside with their text: blank lines, relay-escaped quotes and brace lists, and heads that are
   not the payload's first number and receive time (other log types, such as SYSTEM, are rejects
   of the CSV pass's checks, with the chunked path's reasons). A line
   with an odd number of quotes would make the CSV reader join it to the next line: then the
   whole file takes the chunked path, which handles it.
2. **CSV pass** (``scan_csv`` over the whole file, one row per line, in batches): each batch is
   checked and turned into flows by the same code as the chunked path; the lines set aside in
   that batch's range are parsed with the chunked path's :func:`paloalto.parse`.
3. Rejects of the CSV pass get their text in a last pass over the lines (only if there are any).

If the CSV reader fails part way (a malformed quoted field), everything after the last batch
handed out goes back to the reader (a :class:`~analyzer.parsers.base.Resume` part), which reads
it chunk by chunk, so no line is lost or counted twice.

The reader calls :func:`parse_file` only for plain files (not compressed, no byte-order mark)
and runs the batches with ``ctx.map`` (on threads: the pipeline decides); this module reads
files, it starts no thread.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from ...errors import AnalyzerError
from ...flows import empty_flows
from ..base import ParseContext, Parsed, ParseOutput, Resume
from . import columns as cols
from . import convert as flows
from . import csvsplit as paloalto_csv
from . import export
from . import syslog as pa

MIN_BYTES = 64 * 1024 * 1024
"""Smaller files take the chunked path: the streaming passes cost a fixed start-up."""

BATCH_ROWS = 100_000
"""Rows per batch of the CSV pass: what Python checks at a time, and what memory holds."""

_TEXT = pl.col("text")
# What the chunked path checks of a line's head (the header ends in the payload's first number,
# then the receive time), checked here on the text: the CSV pass does not read the receive time.
_HEAD_AND_TIME = pa.HEAD + r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,"
_RECEIVE_TIME = cols.COMMON["receive_time"]
# Lines the CSV pass leaves to the chunked path, which reads them from their text.
_SET_ASIDE = (
    ~_TEXT.str.contains(r"\S")
    | _TEXT.str.contains("{", literal=True)
    | _TEXT.str.contains('\\"', literal=True)
    | ~_TEXT.str.contains(_HEAD_AND_TIME)
)


def eligible(size: int, head: list[str]) -> bool:
    """A big plain syslog file (the reader offers only plain files), not a web-UI export."""
    if size < MIN_BYTES:
        return False
    first = next((line for line in head if line.strip()), None)
    return first is None or export.header_fields(first) is None


def parse_file(path: str, size: int, head: list[str], ctx: ParseContext) -> Iterator[Parsed | Resume] | None:
    """The plain file at ``path`` (``size`` bytes) parsed in parts (each with the count of lines
    it accounts for), or None when the file takes the chunked path (see the module's
    description)."""
    if not eligible(size, head):
        return None
    ctx.state_of(export.ExportState).decided = True  # syslog lines: no export header
    lines = pl.scan_lines(path, name="text", glob=False).with_row_index("line_no", offset=1)
    try:
        aside, counts = pl.collect_all(
            [
                lines.filter(_SET_ASIDE).select(pl.col("line_no").cast(pl.Int64), "text"),
                lines.select(
                    pl.len().alias("lines"),
                    (_TEXT.str.count_matches('"', literal=True) % 2 == 1).any().alias("unbalanced"),
                    _TEXT.str.contains("THREAT", literal=True).any().alias("threat"),
                ),
            ]
        )
    except pl.exceptions.PolarsError:  # invalid UTF-8, say: the chunked path replaces it
        return None
    if counts["unbalanced"][0]:
        return None
    return _parts(path, size, ctx, aside, int(counts["lines"][0]), bool(counts["threat"][0]))


def _csv(path: str, threat: bool, n_lines: int | None = None) -> pl.LazyFrame:
    indexes = cols.READ_INDEXES if threat else cols.LAYOUT_INDEXES["TRAFFIC"]
    frame = pl.scan_csv(path, glob=False, **paloalto_csv.options(pa.WIDTH))
    if n_lines is not None:  # lines written since the lines pass are not read: it did not see them
        frame = frame.head(n_lines)
    return (
        frame.select([f"c{i}" for i in indexes if i != _RECEIVE_TIME])
        .with_row_index("line_no", offset=1)
        .with_columns(pl.col("line_no").cast(pl.Int64))
    )


def _parts(
    path: str, size: int, ctx: ParseContext, aside: pl.DataFrame, n_lines: int, threat: bool
) -> Iterator[Parsed | Resume]:
    read = {"done": 0, "failed": False}  # every line up to "done" is handed out (or in flight)
    pending: list[pl.DataFrame] = []  # rejects of the CSV pass, waiting for their text

    def batches() -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        frames = iter(_csv(path, threat, n_lines).collect_batches(chunk_size=BATCH_ROWS))
        while True:
            try:
                batch = next(frames, None)
            except pl.exceptions.PolarsError:  # a malformed quoted field, say
                read["failed"] = True
                return
            if batch is None:
                return
            last = int(batch["line_no"][-1])
            yield batch, aside.filter(pl.col("line_no").is_between(read["done"] + 1, last))
            read["done"] = last

    for part, rejects in ctx.map(lambda item: _batch(*item, ctx), batches()):
        if rejects.height:
            pending.append(rejects)
        yield part
        _progress(ctx, size, read["done"], n_lines)
    done = read["done"]
    if read["failed"]:
        # Batches come in line order: what follows the last one is read again, chunk by chunk.
        yield Resume(done)
    else:
        # The CSV reader's rows are the file's lines (no quote ran on: no line has an odd number
        # of quotes), but blank lines at the very end may give no row.
        tail = aside.filter(pl.col("line_no") > done)
        if done + tail.height != n_lines:
            raise AnalyzerError(f"internal error: the CSV reader gave {done} rows for {n_lines} lines in {ctx.file}")
        if tail.height:
            yield Parsed(tail.height, 0, pa.parse(tail, ctx))
    if pending:
        yield _with_text(path, pl.concat(pending).sort("line_no"))


def _progress(ctx: ParseContext, size: int, done: int, n_lines: int) -> None:
    # Bytes done, estimated from lines done: the CSV reader does not say where it is in the file.
    if ctx.progress is not None and n_lines:
        ctx.progress(min(size, size * done // n_lines))


def _batch(batch: pl.DataFrame, aside: pl.DataFrame, ctx: ParseContext) -> tuple[Parsed, pl.DataFrame]:
    """One CSV batch and the set-aside lines of its range → (its part, rejects without text)."""
    n = batch.height
    if aside.height:
        batch = batch.filter(~pl.col("line_no").is_in(aside["line_no"].implode()))
    fields = pa.pick(batch.select("line_no", pl.lit(None, pl.String).alias("text")), batch)
    flow_frame, rejects, ambiguous = pa.fields_to_output(fields, ctx, pa.column_label, (flows.SYSLOG_TIME,))
    out = ParseOutput(flow_frame, rejects.head(0), notes=pa.time_notes(ctx.options.tz, ambiguous))
    if aside.height:
        more = pa.parse(aside, ctx)
        out = ParseOutput(pl.concat([flow_frame, more.records]).sort("line_no"), more.rejects, more.skipped, out.notes)
    # The batch's rejects are handed out later, with their text: this part does not count them.
    return Parsed(n - rejects.height, 0, out), rejects


def _with_text(path: str, rejects: pl.DataFrame) -> Parsed:
    """The CSV pass's rejects, with the text of their lines read in a last pass."""
    texts = (
        pl.scan_lines(path, name="raw", glob=False)
        .with_row_index("line_no", offset=1)
        .filter(pl.col("line_no").is_in(rejects["line_no"].implode()))
        .select(pl.col("line_no").cast(pl.Int64), "raw")
        .collect()
    )
    full = rejects.drop("raw").join(texts, on="line_no", how="left").select(rejects.columns)
    return Parsed(full.height, 0, ParseOutput(empty_flows(), full))
