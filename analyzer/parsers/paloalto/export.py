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


def label_for(ctx: ParseContext):
    """Reject reasons name a field by its header cell, e.g. ``'Destination address'``."""
    names: dict[str, str] = ctx.state["export_names"]

    def label(field: str) -> str:
        return f"'{names[field]}'" if field in names else f"{field} (no such column in the export header)"

    return label


def _records(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Join lines of quoted fields that span line breaks into records.

    Returns (records of ``line_no``/``text``, rejects, continuation lines). A record still open
    at the end of a chunk is rejected, and so are the lines that continue it in the next one.
    """
    odd = (lines["text"].str.count_matches('"', literal=True) % 2).cast(pl.Int64)
    carry = ctx.state.get("export_open", 0)
    after = (odd.cum_sum() + carry) % 2
    if after.len():
        ctx.state["export_open"] = int(after[-1])
    # A record starts on a line that begins outside quotes; record 0 (only when the previous
    # chunk ended inside quotes) continues a record that was rejected there.
    frame = lines.with_columns(after.alias("_after"), ((after + odd) % 2 == 0).cum_sum().alias("_rec"))
    rejects = []
    if carry:
        rejects.append(
            reject_frame(
                frame.filter(pl.col("_rec") == 0),
                "continues a quoted field left open at the end of a read block",
                ctx,
                NAME,
            )
        )
        frame = frame.filter(pl.col("_rec") > 0)
    if frame.height == frame["_rec"].n_unique() and (frame.height == 0 or frame["_after"][-1] == 0):
        return frame.select("line_no", "text"), _concat_rejects(rejects, ctx), 0
    grouped = frame.group_by("_rec", maintain_order=True).agg(
        pl.col("line_no").first(),
        pl.col("text").str.join("\n"),
        pl.len().alias("_n"),
        pl.col("_after").last().alias("_open"),
    )
    unterminated = grouped.filter(pl.col("_open") == 1)
    if unterminated.height:
        rejects.append(
            reject_frame(
                unterminated.select("line_no", pl.col("text").str.split("\n").list.first()),
                "quoted field not closed before the end of the read block",
                ctx,
                NAME,
            )
        )
    done = grouped.filter(pl.col("_open") == 0)
    continuation = int((done["_n"] - 1).sum()) + int((unterminated["_n"] - 1).sum())
    return done.select("line_no", "text"), _concat_rejects(rejects, ctx), continuation


def _concat_rejects(parts: list[pl.DataFrame], ctx: ParseContext) -> pl.DataFrame:
    if parts:
        return pl.concat(parts)
    return reject_frame(pl.DataFrame(schema={"line_no": pl.Int64, "text": pl.String}), "", ctx, NAME)


def fields(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Fields of a chunk of an export: (fields frame, rejects, skipped counts)."""
    header: list[str | None] = ctx.state["export_header"]
    skipped: dict[str, int] = {}
    if "export_names" not in ctx.state:
        first = lines.filter(pl.col("text").str.contains(r"\S")).head(1)
        names = next(csv.reader([first["text"][0]]))
        shown: dict[str, str] = {}
        for name, f in zip(names, header, strict=False):
            if f and f not in shown:
                shown[f] = name
        ctx.state["export_names"] = shown
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
