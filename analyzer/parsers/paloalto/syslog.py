"""PAN-OS syslog lines (and web-UI exports) of one chunk parsed into flows and rejects.

Splitting is vectorized and quote-aware: the chunk's lines are handed to polars' CSV reader as
they are, reading only the needed columns; the syslog header simply ends up in column 0, which
must end in the payload's first number. Lines where that does not hold (a header with commas,
no header shape at all), and lines with relay-escaped quotes (``\\"``) or unquoted brace lists
(Link Switches ``{a,b}``), take a second pass: the payload is cut out by its shape, ``\\"``
becomes ``"`` and brace lists are quoted, then they are split again. Every row's anchors are
then checked (:func:`.convert.checks`), so a shifted line is a reject, never a shifted flow.
"""

from __future__ import annotations

import polars as pl

from ..base import Chunk, ParseContext, ParseOutput, reject_frame
from . import columns as cols
from . import convert as flows
from . import csvsplit as paloalto_csv
from . import export

NAME = flows.NAME

PAYLOAD = r"(?:^|\s)\d+,\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,"
_DATE = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$"
HEAD = r"^[^,]*?(?:^|\s)\d+,"
"""A syslog line whose header ends where the payload's first number begins."""
WIDTH = max(cols.READ_INDEXES) + 1
"""Columns of a payload that matter; later ones are ignored."""
# A brace list that is a whole field; run twice because adjacent lists share a comma.
_BRACES = r"(^|,)\{([^{}\"]*)\}(,|$)"


def _split(payloads: pl.Series) -> pl.DataFrame:
    """The needed columns (``c0``, ``c1``, ...) of each payload, one row per payload."""
    return paloalto_csv.split(payloads, WIDTH, cols.READ_INDEXES)


def _split_bytes(data: bytes, lines: pl.DataFrame) -> pl.DataFrame | None:
    """The needed columns of each of ``lines``, read from ``data``, the chunk's bytes, as they
    are: no copy of the lines into one buffer first. None when the rows do not come out one per
    line (a quote left open runs into the next line): then the lines are split one by one.
    Without THREAT lines (most chunks of a TRAFFIC log) only TRAFFIC's columns are read."""
    threat = lines["text"].str.contains("THREAT", literal=True).any()
    indexes = cols.READ_INDEXES if threat else cols.LAYOUT_INDEXES["TRAFFIC"]
    return paloalto_csv.read_rows(data, lines.height, WIDTH, indexes)


def pick(lines: pl.DataFrame, split: pl.DataFrame) -> pl.DataFrame:
    """Name the split columns by field, picking per log type where the layouts differ."""
    t = pl.col("c3")

    def column(i: int) -> pl.Expr:  # columns not read are null
        return pl.col(f"c{i}") if f"c{i}" in split.columns else pl.lit(None, pl.String)

    named = [column(i).alias(name) for name, i in cols.COMMON.items()]
    for name in dict.fromkeys([*cols.TRAFFIC, *cols.THREAT]):
        expr = None
        for kind, layout in (("TRAFFIC", cols.TRAFFIC), ("THREAT", cols.THREAT)):
            if name in layout:
                then = column(layout[name])
                expr = pl.when(t == kind).then(then) if expr is None else expr.when(t == kind).then(then)
        named.append(expr.alias(name))
    return pl.concat([lines.select("line_no", "text"), split.select(named)], how="horizontal")


def _second_pass(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cut the payload out by its shape, undo relay escapes, quote brace lists, split again.
    Returns (fields, lines without a payload)."""
    pos = lines["text"].str.find(PAYLOAD)
    found = lines.filter(pos.is_not_null())
    payload = (
        found["text"]
        .str.slice(pos.drop_nulls())
        .str.strip_chars_start()
        .str.replace_all('\\"', '"', literal=True)
        .str.replace_all(_BRACES, '$1"{$2}"$3')
        .str.replace_all(_BRACES, '$1"{$2}"$3')
    )
    return pick(found, _split(payload)), lines.filter(pos.is_null())


def _syslog_fields(lines: pl.DataFrame, split: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fields of syslog lines; returns (fields, unreadable lines with their ``_reason``), the
    fields in line order. ``split``: the lines' columns as :func:`_split_bytes` read them, one
    row per line; without it the lines are split here."""
    text = lines["text"]
    special = text.str.contains("{", literal=True) | text.str.contains('\\"', literal=True)
    # A quote left open makes every later column unknowable (and would run into the next line).
    unbalanced = text.str.count_matches('"', literal=True) % 2 == 1
    # Filters copy the long text column, so they are skipped when nothing needs them.
    any_special, any_unbalanced = bool(special.any()), bool(unbalanced.any())
    unreadable = [lines.filter(unbalanced).with_columns(pl.lit(_UNBALANCED).alias("_reason"))]
    regular = ~special & ~unbalanced
    direct = lines.filter(regular) if any_special or any_unbalanced else lines
    if split is None:
        split = _split(direct["text"])
    elif any_special or any_unbalanced:
        split = split.filter(regular)
    first = pick(direct, split)
    # The header ended where the payload's first number begins: the text before the first comma
    # ends in a number, and the next column is the receive time.
    head_ok = (pl.col("text").str.contains(HEAD) & pl.col("receive_time").str.contains(_DATE)).fill_null(False)
    ok = first.select(head_ok).to_series()
    all_ok = bool(ok.all())
    if all_ok and not any_special:
        return first, unreadable[0]
    retry = [first.filter(~ok).select("line_no", "text")]
    if any_special:
        retry.append(lines.filter(special & ~unbalanced))
    second, no_payload = _second_pass(pl.concat(retry).sort("line_no"))
    unreadable.append(no_payload.with_columns(_no_payload_reason(pl.col("text")).alias("_reason")))
    fields = pl.concat([first if all_ok else first.filter(ok), second]).sort("line_no")
    return fields, pl.concat(unreadable)


_UNBALANCED = "a quoted field is not closed (odd number of '\"'): columns cannot be made out"


def _no_payload_reason(text: pl.Expr) -> pl.Expr:
    return (
        pl.when(text.str.contains(r"CEF:\d|LEEF:\d"))
        .then(pl.lit("CEF/LEEF forwarding is not read; configure the default CSV syslog format"))
        .when(text.str.contains(r"(?:^|\s)\w+=\S"))
        .then(pl.lit("key=value custom syslog format is not read; configure the default CSV syslog format"))
        .otherwise(pl.lit("not a PAN-OS log line: no 'N,YYYY/MM/DD hh:mm:ss,' CSV payload"))
    )


def column_label(field: str) -> str:
    """``destination address (column 8)``: a field's name and position in the payload."""
    return f"{cols.LABELS.get(field, field)} (column {cols.COMMON[field]})"


def fields_to_output(
    fields: pl.DataFrame,
    ctx: ParseContext,
    label,
    time_formats: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Checked fields → (flows, rejects, flows whose local time was ambiguous: the hour repeated
    when clocks go back, see :func:`analyzer.flows.local_to_utc`)."""
    checked = flows.checks(flows.with_fields(fields), label, ctx.options.tz, time_formats)
    bad = checked["_reason"].is_not_null()
    rejects = reject_frame(checked.filter(bad).select("line_no", "text", "_reason"), pl.col("_reason"), ctx, NAME)
    # Drop the long line text before filtering: the flows do not need it.
    good = checked.drop("text")
    if bad.any():
        good = good.filter(~bad)
    return flows.to_flows(good, ctx.file), rejects, int(good["_amb"].sum())


def time_notes(tz: str, ambiguous: int) -> dict[str, object]:
    """A part's notes: the zone local times were read in, and how many were ambiguous."""
    return {"timezone": tz, **({"ambiguous_times": ambiguous} if ambiguous else {})}


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of PAN-OS syslog lines (or of a web-UI export) into flows and rejects."""
    return _parse(lines, None, ctx)


def parse_chunk(chunk: Chunk, ctx: ParseContext) -> ParseOutput:
    """:func:`parse` of a chunk, reading syslog columns straight from the chunk's bytes when it
    has them (no copy of the lines into one buffer for the CSV reader)."""
    return _parse(chunk.lines, chunk.data, ctx)


def _parse(lines: pl.DataFrame, data: bytes | None, ctx: ParseContext) -> ParseOutput:
    state = ctx.state_of(export.ExportState)
    if not state.decided:
        nonblank = lines["text"].str.contains(r"\S").arg_true()
        state.header = export.header_fields(lines["text"][nonblank[0]]) if nonblank.len() else None
        state.decided = True
    if state.header is not None:
        fields, rejects, skipped = export.fields(lines, ctx)
        label = export.label_for(ctx)
        flow_frame, bad, ambiguous = fields_to_output(fields, ctx, label, export.TIME_FORMATS)
        all_rejects = pl.concat([rejects, bad]).sort("line_no")
        return ParseOutput(flow_frame, all_rejects, skipped, time_notes(ctx.options.tz, ambiguous))
    # Read before blank lines are dropped: the bytes hold them too (rows of nulls).
    split = _split_bytes(data, lines) if data is not None else None
    # A regex test allocates nothing, unlike stripping every (long) line.
    blank = ~lines["text"].str.contains(r"\S")
    n_blank = int(blank.sum())
    if n_blank:
        lines = lines.filter(~blank)
        split = split.filter(~blank) if split is not None else None
    flow_frame, rejects, ambiguous = _parse_syslog(lines, split, ctx)
    notes = time_notes(ctx.options.tz, ambiguous)
    return ParseOutput(flow_frame, rejects, {"blank": n_blank} if n_blank else {}, notes)


def _parse_syslog(
    lines: pl.DataFrame, split: pl.DataFrame | None, ctx: ParseContext
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Non-blank syslog lines to (flows, rejects, ambiguous local times), in line order."""
    fields, unreadable = _syslog_fields(lines, split)
    flow_frame, rejects, ambiguous = fields_to_output(fields, ctx, column_label, (flows.SYSLOG_TIME,))
    if unreadable.height:
        more = reject_frame(unreadable, pl.col("_reason"), ctx, NAME)
        rejects = pl.concat([rejects, more]).sort("line_no")
    return flow_frame, rejects, ambiguous
