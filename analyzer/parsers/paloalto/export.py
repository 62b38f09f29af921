"""PAN-OS web-UI "Export to CSV" files (Monitor > Logs): read by header name.

The header row holds display names with irregular case (``Source address``), raw internal names
(``seqno``, ``pkts_sent``, ``cpadding``) and a column set that follows the log type and version,
so columns are found through an alias table, compared without case, spaces or punctuation. Dates
may have been re-saved by a spreadsheet (``9/16/19 10:00``). Quoted fields with embedded line
breaks are joined into one record; its extra lines are counted as skipped ``continuation``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import polars as pl

from ..base import ParseContext, reject_frame
from . import csvsplit as paloalto_csv
from .convert import NAME

ALIASES: dict[str, tuple[str, ...]] = {
    "future_use": ("Domain", "FUTURE_USE"),
    "receive_time": ("Receive Time", "time_received", "Time Received"),
    "serial": ("Serial #", "Serial Number", "serial"),
    "type": ("Type",),
    "subtype": ("Threat/Content Type", "Subtype", "Sub Type"),
    "generated_time": ("Generate Time", "Generated Time", "time_generated", "Time Generated"),
    "src": ("Source address", "Source IP", "Source", "src"),
    "dst": ("Destination address", "Destination IP", "Destination", "dst"),
    "nat_src": ("NAT Source IP", "natsrc"),
    "nat_dst": ("NAT Destination IP", "natdst"),
    "rule": ("Rule", "Rule Name"),
    "src_user": ("Source User", "srcuser"),
    "app": ("Application", "app"),
    "vsys": ("Virtual System", "vsys"),
    "from_zone": ("Source Zone", "from"),
    "to_zone": ("Destination Zone", "to"),
    "session_id": ("Session ID", "sessionid"),
    "sport": ("Source Port", "sport"),
    "dport": ("Destination Port", "dport"),
    "protocol": ("IP Protocol", "Protocol", "proto"),
    "action": ("Action",),
    "bytes": ("Bytes",),
    "bytes_sent": ("Bytes Sent", "bytes_sent"),
    "bytes_received": ("Bytes Received", "bytes_received"),
    "packets": ("Packets",),
    "elapsed": ("Elapsed Time (sec)", "Elapsed Time", "elapsed"),
    "category": ("Category", "URL Category"),
    "end_reason": ("Session End Reason", "session_end_reason"),
    "device_name": ("Device Name", "device_name"),
    "url": ("URL", "URL/Filename", "misc"),
    "threat_id": ("Threat/Content Name", "Threat ID", "threatid"),
    "severity": ("Severity",),
    "direction": ("Direction",),
    "content_type": ("Content Type", "contenttype"),
    "user_agent": ("User Agent", "user_agent"),
    "referer": ("Referer",),
    "xff": ("X-Forwarded-For", "xff"),
    "method": ("HTTP Method", "http_method"),
    "hires": ("High Resolution Timestamp", "high_res_timestamp"),
    # Recognised (they mark a header as PAN-OS) but not read.
    "seqno": ("seqno", "Sequence Number"),
    "actionflags": ("actionflags", "Action Flags"),
    "packets_sent": ("pkts_sent", "Packets Sent"),
    "packets_received": ("pkts_received", "Packets Received"),
}
"""Field name → header names seen in exports (display and internal names)."""

TIME_FORMATS: tuple[str, ...] = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)
"""Export dates: as PAN-OS writes them, then as a US-locale spreadsheet re-saves them."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_LOOKUP: dict[str, str] = {_norm(alias): field for field, aliases in ALIASES.items() for alias in aliases}


def header_fields(line: str) -> list[str | None] | None:
    """The field of each header cell, or None when ``line`` is not a PAN-OS export header.

    A header has at least five known names, among them source and destination address and a
    time. Example: ``header_fields("Receive Time,Type,Source address,Destination address,...")``.
    """
    if re.search(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", line):
        return None  # a data line, not a header
    try:
        names = next(csv.reader([line]), [])
    except csv.Error:
        return None
    mapped = [_LOOKUP.get(_norm(n)) for n in names]
    known = {f for f in mapped if f}
    if len(known) >= 5 and {"src", "dst"} <= known and known & {"generated_time", "receive_time"}:
        return mapped
    return None


@dataclass
class ExportState:
    """What the first chunk of a PAN-OS file decided: ``decided`` once it has looked; ``header``
    the web-UI export's fields by column (None: syslog lines, not an export); ``names`` each
    field's header cell, once the header line is read."""

    decided: bool = False
    header: list[str | None] | None = None
    names: dict[str, str] | None = None


def label_for(ctx: ParseContext):
    """Reject reasons name a field by its header cell, e.g. ``'Destination address'``."""
    names = ctx.state_of(ExportState).names or {}

    def label(field: str) -> str:
        return f"'{names[field]}'" if field in names else f"{field} (no such column in the export header)"

    return label


_QUOTED = r'"(?:[^"]|"")*"'
_FIELD = rf'(?:{_QUOTED}|[^,"]*)'
_COMPLETE = rf"^{_FIELD}(?:,{_FIELD})*$"
"""A line that is a whole record: each field unquoted (no quote in it) or quoted (``""`` inside)."""
_OPENS = rf'^(?:{_FIELD},)*"(?:[^"]|"")*$'
"""A line that ends inside a quoted field begun at a field's start: the record may go on below."""
_MIDDLE = r'^(?:[^"]|"")*$'
"""A line that may lie wholly inside a quoted field."""
_CLOSES = rf'^(?:[^"]|"")*"(?:,{_FIELD})*$'
"""A line that ends a quoted field begun on an earlier line, and then the record."""
MAX_RECORD_LINES = 64
"""A quoted field over more lines than this is taken for a stray quote, not for a record."""
_STRAY_QUOTE = "a quote inside an unquoted field, or text after a closing quote: columns cannot be made out"
_NOT_CLOSED = (
    "a quoted field is not closed on this line, and no later line closes it into a record of the "
    "header's {} columns: columns cannot be made out"
)


def _records(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Make out the records of a chunk: one per line, or lines joined where a quoted field holds
    line breaks. Returns (records of ``line_no``/``text``, rejects, continuation lines).

    Quotes are read as CSV reads them (a quote opens a field only at the field's start), and a
    quoted field left open joins the lines below only when a later line closes it, none of them
    has a row's worth of commas, and the joined record has the header's number of columns. A
    stray quote therefore costs its own line (a
    reject), never the rows after it; and a record never runs past its chunk, so every line is
    accounted for in the chunk that holds it.
    """
    text = lines["text"]
    plain = lines.select("line_no", "text")
    quoted = text.str.contains('"', literal=True)
    if not quoted.any():
        return plain, _concat_rejects([], ctx), 0
    complete = ~quoted | text.str.contains(_COMPLETE)
    if complete.all():
        return plain, _concat_rejects([], ctx), 0
    opens = ~complete & text.str.contains(_OPENS)
    width = len(ctx.state_of(ExportState).header or ())
    # A line with a row's worth of commas is a row, not text inside another row's field.
    row_like = text.str.count_matches(",", literal=True) >= width - 1
    # Per line, the first later line that cannot lie inside a quoted field: where a field
    # opened on the line must close.
    outside = (~text.str.contains(_MIDDLE) | row_like).arg_true().cast(pl.Int64)
    marks = pl.Series([None] * lines.height, dtype=pl.Int64).scatter(outside, outside)
    next_outside = marks.shift(-1).backward_fill().to_list()
    closes = (text.str.contains(_CLOSES) & ~row_like).to_list()
    texts = text.to_list()
    joined: dict[int, str] = {}
    inside: list[int] = []
    end = -1
    # A loop over the lines that leave a field open only (rare), each joining at most
    # MAX_RECORD_LINES lines once.
    for i in opens.arg_true().to_list():
        j = next_outside[i]
        if i <= end or j is None or not closes[j] or j - i >= MAX_RECORD_LINES:
            continue
        record = "\n".join(texts[i : j + 1])
        if len(next(csv.reader([record]), [])) == width:
            joined[i], end = record, j
            inside.extend(range(i + 1, j + 1))
    position = pl.int_range(0, lines.height, eager=True)
    starts = position.is_in(list(joined))
    continuation = position.is_in(inside)
    alone = ~starts & ~continuation
    bad = alone & ~complete
    reason = pl.when(pl.col("_opens")).then(pl.lit(_NOT_CLOSED.format(width))).otherwise(pl.lit(_STRAY_QUOTE))
    rejects = reject_frame(plain.with_columns(opens.alias("_opens")).filter(bad), reason, ctx, NAME)
    if joined:
        plain = plain.with_columns(
            pl.Series("text", texts).scatter(starts.arg_true(), [joined[i] for i in sorted(joined)])
        )
    return plain.filter((alone & complete) | starts), rejects, len(inside)


def _concat_rejects(parts: list[pl.DataFrame], ctx: ParseContext) -> pl.DataFrame:
    if parts:
        return pl.concat(parts)
    return reject_frame(pl.DataFrame(schema={"line_no": pl.Int64, "text": pl.String}), "", ctx, NAME)


def fields(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Fields of a chunk of an export: (fields frame, rejects, skipped counts)."""
    state = ctx.state_of(ExportState)
    header: list[str | None] = state.header or []
    skipped: dict[str, int] = {}
    if state.names is None:
        first = lines.filter(pl.col("text").str.contains(r"\S")).head(1)
        names = next(csv.reader([first["text"][0]]))
        shown: dict[str, str] = {}
        for name, f in zip(names, header, strict=False):
            if f and f not in shown:
                shown[f] = name
        state.names = shown
        lines = lines.filter(pl.col("line_no") != first["line_no"][0])
        skipped["header"] = 1
    records, rejects, continuation = _records(lines, ctx)
    if continuation:
        skipped["continuation"] = continuation
    blank = ~records["text"].str.contains(r"\S")
    if blank.any():
        skipped["blank"] = int(blank.sum())
        records = records.filter(~blank)
    split = paloalto_csv.split(records["text"], len(header))
    first_of: dict[str, int] = {}
    for i, f in enumerate(header):
        if f and f not in first_of:
            first_of[f] = i
    named = [pl.col(f"c{i}").alias(f) for f, i in first_of.items()]
    frame = pl.concat([records, split.select(named)], how="horizontal")
    if "type" not in first_of:
        # Exports of one log view may lack Type: a URL column tells a URL-filtering export.
        frame = frame.with_columns(pl.lit("THREAT" if "url" in first_of else "TRAFFIC").alias("type"))
        if "subtype" not in first_of:
            frame = frame.with_columns(pl.lit("url" if "url" in first_of else None, pl.String).alias("subtype"))
    if "generated_time" not in first_of and "receive_time" in first_of:
        frame = frame.with_columns(pl.col("receive_time").alias("generated_time"))
    frame = frame.with_columns(pl.col("type").str.to_uppercase())
    return frame, rejects, skipped
