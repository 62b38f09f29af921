"""Windows Firewall ``pfirewall.log`` (W3C-style, driven by its ``#Fields:`` header).

A file starts with comment lines, the last of which names the fields::

    #Version: 1.5
    #Software: Microsoft Windows Firewall
    #Time Format: Local
    #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin
             icmptype icmpcode info path        (one line in the file)

Newer builds add an 18th field ``pid``; the header is the schema, so any list is read, fields the
analyzer has no column for are kept in ``extra``, and a header that re-appears mid-file (the
service restarted and wrote a new one) replaces the field list from that line on. The current
field list and time format are carried across chunks in ``ctx.state``.

Lines whose field count differs from the header's (glued or truncated lines) are rejects, as are
data lines before any ``#Fields:`` header. ``INFO-EVENTS-LOST`` lines are not flows: they are
skipped lines of kind ``lost-events`` and the events they report lost are summed in
``notes["lost_events"]``. Times are local unless ``#Time Format: UTC``: they are read in
``ctx.options.tz`` (default UTC) and the zone used is put in ``notes["time_zone"]``.

Parsing is vectorized: runs of spaces are collapsed with literal replaces, fields come from one
``splitn``, and each distinct header is handled once per chunk.
"""

from __future__ import annotations

import polars as pl

from ..schema import conform_flows, conform_rejects, empty_flows
from .base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame

NAME = "winfirewall"

ACTIONS = {
    "ALLOW": "allowed",
    "DROP": "blocked",
    # Windows XP / Server 2003: a connection opened (outbound, or inbound) or closed. CLOSE is not
    # a decision but the end of an allowed connection; ``vendor_action`` keeps it recognisable.
    "OPEN": "allowed",
    "OPEN-INBOUND": "allowed",
    "CLOSE": "allowed",
}
LOST_EVENTS = "INFO-EVENTS-LOST"
PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "2": "igmp", "58": "ipv6-icmp", "icmpv6": "ipv6-icmp"}
"""IANA protocol numbers (and odd names) to the names flows use; other numbers stay numbers."""
DIRECTIONS = {"SEND": "outbound", "RECEIVE": "inbound", "FORWARD": "forward"}

# Header fields that have a flow column of their own; every other field goes to ``extra``.
_COLUMN_FIELDS = ("date", "time", "action", "protocol", "src-ip", "dst-ip", "src-port", "dst-port", "size", "path")
_REQUIRED = ("date", "time", "action")
# Known numeric fields: typed in ``extra``; a value that is neither a number nor ``-`` is a reject.
_INT_FIELDS = ("src-port", "dst-port", "size", "tcpsyn", "tcpack", "tcpwin", "icmptype", "icmpcode", "info", "pid")
_SNIFF_FIELDS = "#Fields: date time action protocol src-ip dst-ip"


def _collapse_spaces(text: pl.Series) -> pl.Series:
    # Fields are single-space separated in practice, but some copies pad with runs of spaces or
    # tabs; literal replaces are much faster than a regex and loop only while runs remain.
    if text.str.contains("\t", literal=True).any():
        text = text.str.replace_all("\t", " ", literal=True)
    while text.str.contains("  ", literal=True).any():
        text = text.str.replace_all("  ", " ", literal=True)
    if text.str.starts_with(" ").any() or text.str.ends_with(" ").any():
        text = text.str.strip_chars(" ")
    return text


def _header_fields(line: str) -> tuple[str, ...]:
    return tuple(line.split(":", 1)[1].split())


def _time_format(line: str) -> str:
    return line.split(":", 1)[1].strip()


def _scan_headers(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, list[tuple | None], list[str]]:
    """Give every line the index of the ``#Fields:`` and ``#Time Format:`` header it is under.

    Returns the frame with ``_fseg``/``_tseg`` columns and the field lists / time formats those
    indexes name (index 0 is what earlier chunks left in ``ctx.state``).
    """
    text = pl.col("text")
    frame = lines.with_columns(
        text.str.starts_with("#Fields:").cum_sum().cast(pl.Int64).alias("_fseg"),
        text.str.starts_with("#Time Format:").cum_sum().cast(pl.Int64).alias("_tseg"),
    )
    headers = frame.filter(text.str.starts_with("#Fields:") | text.str.starts_with("#Time Format:"))
    field_lists: list[tuple | None] = [ctx.state.get("fields")]
    time_formats: list[str] = [ctx.state.get("time_format", "Local")]
    for line in headers["text"]:
        if line.startswith("#Fields:"):
            field_lists.append(_header_fields(line))
        else:
            time_formats.append(_time_format(line))
    ctx.state["fields"] = field_lists[-1]
    ctx.state["time_format"] = time_formats[-1]
    return frame, field_lists, time_formats


def _int(col: pl.Expr, dtype=pl.Int64) -> pl.Expr:
    return pl.when(col != "-").then(col.cast(dtype, strict=False))


def _bad_int(col: pl.Expr, dtype=pl.Int64) -> pl.Expr:
    return (col != "-") & col.cast(dtype, strict=False).is_null()


def _parse_group(
    group: pl.DataFrame, fields: tuple[str, ...], time_format: str, ctx: ParseContext
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """Data lines under one field list and time format → (flows, rejects, lost lines, lost events)."""
    n = len(fields)
    text = _collapse_spaces(group["text"])
    found = text.str.count_matches(" ", literal=True) + 1
    frame = group.select("line_no", "text").with_columns(text.alias("_t"), found.alias("_n"))
    wrong = frame.filter(pl.col("_n") != n)
    rejects = [
        reject_frame(
            wrong,
            pl.lit(f"{n} fields expected by #Fields:, ") + pl.col("_n").cast(pl.String) + pl.lit(" found"),
            ctx,
            NAME,
        )
    ]
    frame = frame.filter(pl.col("_n") == n)
    names = [f"f{i}" for i in range(n)]
    tok = frame.with_columns(pl.col("_t").str.splitn(" ", n).struct.rename_fields(names).alias("_s")).unnest("_s")
    f = {name: pl.col(f"f{i}") for i, name in enumerate(fields)}
    missing = pl.lit(None, pl.String)
    get = lambda name: f.get(name, missing)  # noqa: E731 - a field the header may not have

    lost = tok.filter(get("action") == LOST_EVENTS)
    lost_events = int(lost.select(_int(get("info")).sum()).item() or 0) if lost.height else 0
    tok = tok.filter(get("action") != LOST_EVENTS)

    stamp = pl.concat_str([get("date"), get("time")], separator=" ").str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False
    )
    if time_format.upper() == "UTC":
        stamp = stamp.dt.replace_time_zone("UTC")
    else:
        # The hour repeated when clocks go back cannot be told apart: take its first pass. Times
        # in the hour skipped when clocks go forward do not exist and are rejected.
        stamp = stamp.dt.replace_time_zone(ctx.options.tz, ambiguous="earliest", non_existent="null")
        stamp = stamp.dt.convert_time_zone("UTC")
    tok = tok.with_columns(stamp.alias("_time"))
    bad_ints = [name for name in _INT_FIELDS if name in f]
    reason = pl.when(pl.col("_time").is_null()).then(
        pl.lit(f"date/time is not YYYY-MM-DD HH:MM:SS or does not exist in {ctx.options.tz}")
    )
    reason = reason.when(~get("action").is_in(list(ACTIONS))).then(pl.lit("unknown action '") + get("action") + "'")
    for name in bad_ints:
        reason = reason.when(_bad_int(f[name])).then(pl.lit(f"{name} is not a number: '") + f[name] + "'")
    tok = tok.with_columns(reason.alias("_reason"))
    bad = tok.filter(pl.col("_reason").is_not_null())
    rejects.append(reject_frame(bad, pl.col("_reason"), ctx, NAME))
    tok = tok.filter(pl.col("_reason").is_null())

    protocol = get("protocol").str.to_lowercase()
    extra_fields = [name for name in fields if name not in _COLUMN_FIELDS]
    extra = [
        (_int(f[name]) if name in _INT_FIELDS else pl.when(f[name] != "-").then(f[name])).alias(name)
        for name in extra_fields
    ]
    vendor = get("action")
    direction = get("path").replace_strict(DIRECTIONS, default=None)
    # XP's OPEN-INBOUND lines have no path but say their direction in the action.
    direction = pl.when(vendor == "OPEN-INBOUND").then(pl.lit("inbound")).otherwise(direction)
    flows = tok.select(
        pl.col("_time").alias("time"),
        pl.when(get("src-ip") != "-").then(get("src-ip")).alias("src_ip"),
        _int(get("src-port"), pl.Int32).alias("src_port"),
        pl.when(get("dst-ip") != "-").then(get("dst-ip")).alias("dst_ip"),
        _int(get("dst-port"), pl.Int32).alias("dst_port"),
        pl.when(protocol != "-").then(protocol.replace(PROTOCOLS)).alias("protocol"),
        direction.alias("direction"),
        vendor.replace_strict(ACTIONS, default=None).alias("action"),
        vendor.alias("vendor_action"),
        _int(get("size")).alias("bytes"),
        (pl.struct(extra).struct.json_encode() if extra else pl.lit(None, pl.String)).alias("extra"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
        pl.col("line_no"),
    )
    return conform_flows(flows), pl.concat(rejects), lost.height, lost_events


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of pfirewall.log lines into flows, rejects and skipped counts.

    Example::

        ctx = ParseContext(file="pfirewall.log", options=ParseOptions(tz="Europe/Berlin"))
        out = parse(pl.DataFrame({"line_no": [1, 2], "text": [
            "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags "
            "tcpsyn tcpack tcpwin icmptype icmpcode info path",
            "2026-11-03 10:00:00 DROP TCP 192.0.2.10 203.0.113.7 50000 443 0 - 0 0 0 - - - SEND"]}), ctx)
        out.records["action"]  # ["blocked"]
    """
    frame, field_lists, time_formats = _scan_headers(lines, ctx)
    text = pl.col("text")
    blank = text.str.strip_chars() == ""
    comment = text.str.starts_with("#")
    n_blank = int(frame.select(blank.sum()).item())
    n_header = int(frame.select(comment.sum()).item())
    data = frame.filter(~blank & ~comment)
    skipped = {k: v for k, v in (("header", n_header), ("blank", n_blank)) if v}
    notes: dict[str, object] = {}

    headless = data.filter(pl.col("_fseg") == 0) if field_lists[0] is None else data.clear()
    rejects = [reject_frame(headless, "no #Fields: header before this line", ctx, NAME)]
    flows = []
    data = data.join(headless.select("line_no"), on="line_no", how="anti") if headless.height else data
    # One pass per distinct (field list, time format): a header repeated after a restart is the
    # same list, so a file with many restarts still parses in one or two passes.
    combos = data.select("_fseg", "_tseg").unique()
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for fseg, tseg in combos.iter_rows():
        key = (field_lists[fseg], time_formats[tseg].upper() == "UTC")
        groups.setdefault(key, []).append((fseg, tseg))
    lost_lines = lost_events = 0
    for (fields, is_utc), segs in groups.items():
        seg_frame = pl.DataFrame(segs, schema={"_fseg": pl.Int64, "_tseg": pl.Int64}, orient="row")
        group = data.join(seg_frame, on=["_fseg", "_tseg"], how="semi") if len(groups) > 1 else data
        missing = [r for r in _REQUIRED if r not in fields]
        if missing:
            reason = f"#Fields: header lacks {', '.join(missing)}; cannot read this line"
            rejects.append(reject_frame(group, reason, ctx, NAME))
            continue
        got, bad, n_lost, n_events = _parse_group(group, fields, "UTC" if is_utc else "Local", ctx)
        flows.append(got)
        rejects.append(bad)
        lost_lines += n_lost
        lost_events += n_events
        notes["time_zone"] = "UTC" if is_utc else ctx.options.tz
    if lost_lines:
        skipped["lost-events"] = lost_lines
        notes["lost_events"] = lost_events
    records = pl.concat(flows).sort("line_no") if flows else empty_flows()
    reject_out = conform_rejects(pl.concat(rejects).sort("line_no"))
    return ParseOutput(records, reject_out, skipped, notes)


def sniff(head: list[str], options: ParseOptions) -> bool:
    """A pfirewall.log when its head names the software or has the firewall's ``#Fields:`` line."""
    return any(
        ln.startswith("#Software: Microsoft Windows Firewall") or ln.startswith(_SNIFF_FIELDS) for ln in head[:50]
    )


PARSER = Parser(
    name=NAME,
    description="Windows Firewall pfirewall.log (any #Fields: list; local times read in --tz)",
    sniff=sniff,
    parse=parse,
)
