"""Writing frames to files: Parquet, CSV (formula-safe) and JSON, whole or chunk by chunk."""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

import polars as pl

from .controls import inert_frame
from .errors import AnalyzerError

if TYPE_CHECKING:  # imported where used: pyarrow takes 0.1 s to import, and few commands write
    import pyarrow as pa
    import pyarrow.parquet as pq

# A spreadsheet evaluates a cell starting with one of these as a formula: log text must not be
# able to run one (CSV injection). A leading apostrophe makes the cell literal text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {".parquet": "parquet", ".csv": "csv"}


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix string cells that a spreadsheet would evaluate with an apostrophe.

    A cell that is exactly ``-`` (the logs' "no value") is left as it is: no spreadsheet reads it
    as a formula. Example: ``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``.
    """
    risky = pl.String
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == risky:
            col = pl.col(name)
            danger = col.str.contains(r"^[=+\-@\t\r]") & (col != "-")
            exprs.append(pl.when(danger).then(pl.lit("'") + col).otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame


TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f%:z"
"""How every machine-readable output (CSV, JSON) writes a time: ISO 8601 in UTC with a colon
offset, ``2026-11-02T09:00:09.000000+00:00``, which spreadsheets (Excel included), pandas and
``datetime.fromisoformat`` read. The human reports show the site's zone instead."""


def _csv_time(name: str, dtype: pl.Datetime) -> pl.Expr:
    col = pl.col(name)
    if dtype.time_zone is None:  # a time without zone: written as it is, without an offset
        return col.dt.strftime(TIME_FORMAT.removesuffix("%:z")).alias(name)
    return col.dt.convert_time_zone("UTC").dt.strftime(TIME_FORMAT).alias(name)


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    # CSV has no enum or nested types: write enums as text; times in the one convention.
    casts = [pl.col(n).cast(pl.String) for n, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    casts += [_csv_time(n, t) for n, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    frame = frame.with_columns(casts) if casts else frame
    # Control characters made visible first: a cell starting with ESC is then "\x1b...", safe.
    return neutralize_formulas(inert_frame(frame))


def format_of(path: str | Path) -> str:
    """``parquet`` or ``csv`` by the path's suffix, else an error saying what is supported."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise AnalyzerError(f"{path}: cannot write '{suffix or 'no suffix'}'; use .parquet or .csv")
    return FORMATS[suffix]


def write_frame(frame: pl.DataFrame, path: str | Path) -> None:
    """Write ``frame`` to ``path`` (.parquet or .csv, formula-safe)."""
    fmt = format_of(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        _csv_ready(frame).write_csv(path)


STATISTICS_COLUMNS = ("time", "src_ip", "dst_host", "dst_ip", "action", "line_no")
"""Text columns whose min/max statistics a FrameWriter's Parquet file keeps besides the numeric
and temporal ones: what readers filter flows on. Statistics of long text (URLs, ``extra``) cost
encoding time and skip nothing."""


DICTIONARY_PAGE_BYTES = 8 * 2**20


def _parquet_writer(path: Path, schema: pa.Schema, sample: pl.DataFrame) -> pq.ParquetWriter:
    """A zstd Parquet writer whose encodings suit the values of ``sample`` (the first frame with rows).

    Dictionary encoding only for columns with few distinct values (elsewhere pyarrow builds a
    dictionary, overflows it and falls back to plain, all per page); delta encoding for the other
    integer and time columns (line numbers and times grow steadily); statistics for numeric and
    time columns and ``STATISTICS_COLUMNS``. On 1M Squid flows this is 0.66 -> 0.46 s CPU and a
    28 % smaller file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    dictionary, delta, statistics = [], {}, []
    for field in schema:
        # Integer and time types are stored as Parquet integers, which delta encoding takes.
        numeric = pa.types.is_integer(field.type) or pa.types.is_temporal(field.type)
        if numeric or field.name in STATISTICS_COLUMNS:
            statistics.append(field.name)
        values = sample[field.name].drop_nulls()
        # Values that repeat (each seen twice or more on average among the sample's
        # non-null ones): a log with thousands of clients and tens of thousands of hosts still
        # repeats them, while URL paths and ``extra`` are nearly all distinct.
        if values.n_unique() * 2 <= values.len():
            dictionary.append(field.name)
        elif numeric:
            delta[field.name] = "DELTA_BINARY_PACKED"
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        use_dictionary=dictionary,
        column_encoding=delta or None,
        write_statistics=statistics,
        # Room for the dictionary of a row group's distinct hosts (tens of thousands in a big
        # proxy log); at the 1 MiB default pyarrow gives up on it midway and writes plain text.
        dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
    )


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """``frame`` as Arrow without copying its text: polars' string views become Arrow
    ``string_view`` columns, which pyarrow encodes to Parquet as fast as plain strings (the default
    conversion to ``large_string`` copied every string: 0.22 s CPU per 1M Squid flows). Enum
    columns keep the classic dictionary type, as pyarrow cannot write dictionaries of views."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    enums = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Enum)]
    if enums:
        classic = frame.select(enums).to_arrow(compat_level=pl.CompatLevel.oldest())
        for name in enums:
            table = table.set_column(table.schema.get_field_index(name), classic.schema.field(name), classic[name])
    return table


class FrameWriter:
    """Append frames of one schema to a Parquet or CSV file without holding them all.

    Example::

        with FrameWriter("flows.parquet", FLOW_SCHEMA) as w:
            w.write(chunk)
    """

    def __init__(self, path: str | Path, schema: pl.Schema, *, background: bool = True):
        self.path = Path(path)
        self.format = format_of(path)
        self.schema = schema
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet: pq.ParquetWriter | None = None
        self._csv = None
        self._closed = False
        # The Parquet writer is opened with the first frame, whose values decide the encodings.
        if self.format == "csv":
            self._csv = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self._header = True
        # Encoding and compressing a chunk (Arrow conversion, zstd) releases the GIL, so a writer
        # thread overlaps it with parsing the next chunk. The bounded queue keeps at most two
        # chunks waiting, so memory stays bounded when writing is the slower side.
        self._error: BaseException | None = None
        self._queue: Queue | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = Queue(maxsize=2)
            self._thread = threading.Thread(target=self._work, name="analyzer-writer", daemon=True)
            self._thread.start()

    SAMPLE_ROWS = 16 * 1024
    """Rows of the first frame with rows whose values choose the Parquet encodings."""

    ROWS_PER_WRITE = 256 * 1024
    """Frames are converted to Arrow and written this many rows at a time, so writing a big
    frame never holds a second whole copy of it."""

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (written by the writer thread unless ``background=False``)."""
        self._raise()
        self.rows += frame.height
        if self.format == "parquet" and self._parquet is None and frame.height:
            # Opened here, not in the writer thread: choosing encodings runs polars on the first
            # rows, and in the writer thread that waited behind the parser's work on polars' pool.
            self._open(frame.head(self.SAMPLE_ROWS))
        if self._queue is None:
            self._write(frame)
        else:
            self._queue.put(frame)

    def _work(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(frame)
                except BaseException as exc:  # raised in the caller's thread by _raise()
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _open(self, sample: pl.DataFrame) -> None:
        self._arrow_schema = _arrow(pl.DataFrame(schema=self.schema)).schema
        self._parquet = _parquet_writer(self.path, self._arrow_schema, sample)

    def _write(self, frame: pl.DataFrame) -> None:
        if self.format == "parquet":
            for offset in range(0, frame.height, self.ROWS_PER_WRITE):
                part = frame.slice(offset, self.ROWS_PER_WRITE)
                self._parquet.write_table(_arrow(part).cast(self._arrow_schema))
        else:
            _csv_ready(frame).write_csv(self._csv, include_header=self._header)
            self._header = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self.format == "parquet":
            if self._parquet is None:  # nothing written: still a valid file with the schema
                self._open(pl.DataFrame(schema=self.schema))
            self._parquet.close()
        elif self._csv is not None:
            if self._header:  # nothing written: still give the file its header
                _csv_ready(pl.DataFrame(schema=self.schema)).write_csv(self._csv)
            self._csv.close()
        self._parquet = self._csv = None
        self._raise()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _nearest_existing(path: Path) -> Path:
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def _probe(folder: Path, label: str, shown: str) -> None:
    """Create and remove a file in ``folder``: the one test of writability that also holds for
    root, read-only file systems and network mounts."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".analyzer-probe-"):
            pass
    except OSError as exc:
        raise AnalyzerError(f"{label} {shown}: cannot write in {folder}: {exc.strerror or exc}") from None


def check_output_folder(path: str | Path, label: str = "-o") -> Path:
    """Make sure ``path`` is, or can be created as, a folder we can write in; create it.

    Called before the work starts, so a mistyped or read-only output path costs a second, not a
    whole run. Raises :class:`AnalyzerError` with one plain line: an existing file, a path under
    a file, a folder that cannot be created or is not writable.
    Example: ``check_output_folder("out")``.
    """
    folder = Path(path)
    shown = str(path)
    if folder.exists() and not folder.is_dir():
        raise AnalyzerError(f"{label} {shown}: is a file, not a folder (give a folder for the results)")
    _writable_folder(folder, label, shown, "a folder", "the folder")
    return folder


def _writable_folder(folder: Path, label: str, shown: str, what: str, which: str) -> None:
    """Create ``folder`` (where ``what``, "a folder" or "a file", is to be written) and make sure
    it is writable, or raise one line naming the option (``label``) and the path given."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise AnalyzerError(f"{label} {shown}: cannot create {what} under the file {base}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnalyzerError(f"{label} {shown}: cannot create {which}: {exc.strerror or exc}") from None
    _probe(folder, label, shown)


def check_output_file(path: str | Path, label: str = "-o") -> Path:
    """Make sure ``path`` can be written as a file (.parquet or .csv) before the work starts:
    not a folder, its folder creatable and writable, and the file itself writable if it exists.
    Example: ``check_output_file("flows.parquet")``."""
    file = Path(path)
    shown = str(path)
    format_of(file)
    if file.is_dir():
        raise AnalyzerError(f"{label} {shown}: is a folder (give a file name ending in .parquet or .csv)")
    _writable_folder(file.parent, label, shown, "a file", "its folder")
    if file.exists():
        try:
            with open(file, "ab"):
                pass
        except OSError as exc:
            raise AnalyzerError(f"{label} {shown}: not writable: {exc.strerror or exc}") from None
    return file
