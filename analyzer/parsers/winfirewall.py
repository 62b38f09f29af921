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


class _Fields:
    """Expressions over one split line under a given ``#Fields:`` list."""

    def __init__(self, fields: tuple[str, ...]):
        self.n = len(fields)
        self.raw = {name: pl.col(f"_f{i}") for i, name in enumerate(fields)}
        self.ints = [name for name in _INT_FIELDS if name in self.raw]
        self.extra = [name for name in fields if name not in _COLUMN_FIELDS]

    def get(self, name: str) -> pl.Expr:
        return self.raw.get(name, pl.lit(None, pl.String))

    def num(self, name: str) -> pl.Expr:
        return pl.col(f"_i_{name}") if name in self.ints else pl.lit(None, pl.Int64)

    def bad_int(self, name: str) -> pl.Expr:
        return (self.raw[name] != "-") & pl.col(f"_i_{name}").is_null()

    def split(self, group: pl.DataFrame, time_format: str, tz: str) -> pl.LazyFrame:
        """Lines → lazy frame of field count, split fields, typed numbers, time and action."""
        text = _collapse_spaces(group["text"])
        # Each field becomes a column once; every expression below reads those columns.
        lf = (
            group.lazy()
            .select(
                "line_no",
                "text",
                (text.str.count_matches(" ", literal=True) + 1).alias("_n"),
                text.str.splitn(" ", self.n).struct.rename_fields([f"_f{i}" for i in range(self.n)]).alias("_s"),
            )
            .unnest("_s")
        )
        return lf.with_columns(
            # Typed numeric fields once; "-" means not applicable and stays null.
            *[
                pl.when(self.raw[k] != "-").then(self.raw[k].cast(pl.Int64, strict=False)).alias(f"_i_{k}")
                for k in self.ints
            ],
            _stamp(self.get("date"), self.get("time"), time_format, tz).alias("_time"),
            self.get("action").alias("_action"),
        )

    def bad(self) -> pl.Expr:
        """Cheap flag of lines that are rejects (the reason is worded only for those)."""
        action = pl.col("_action")
        wrong = pl.col("_time").is_null() | ~action.is_in(list(ACTIONS))
        if self.ints:
            wrong = wrong | pl.any_horizontal([self.bad_int(k) for k in self.ints])
        return ((pl.col("_n") != self.n) | ((action != LOST_EVENTS) & wrong)).fill_null(True)

    def reason(self, tz: str) -> pl.Expr:
        """Why a line flagged by :meth:`bad` is not a flow, in words."""
        action = pl.col("_action")
        reason = pl.when(pl.col("_n") != self.n).then(
            pl.lit(f"{self.n} fields expected by #Fields:, ") + pl.col("_n").cast(pl.String) + pl.lit(" found")
        )
        reason = reason.when(pl.col("_time").is_null()).then(
            pl.lit(f"date/time is not YYYY-MM-DD HH:MM:SS or does not exist in {tz}")
        )
        reason = reason.when(~action.is_in(list(ACTIONS))).then(pl.lit("unknown action '") + action + "'")
        for k in self.ints:
            reason = reason.when(self.bad_int(k)).then(pl.lit(f"{k} is not a number: '") + self.raw[k] + "'")
        return reason.otherwise(pl.lit("not a pfirewall.log line"))


def _parse_group(
    group: pl.DataFrame, fields: tuple[str, ...], time_format: str, ctx: ParseContext
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """Data lines under one field list and time format → (flows, rejects, lost lines, lost events).

    Built as one lazy query so polars runs the per-field expressions in parallel; rejects, lost
    event markers and flows are told apart by flags of that one result.
    """
    tz = ctx.options.tz
    f = _Fields(fields)
    action = pl.col("_action")
    protocol = f.get("protocol").str.to_lowercase()
    extra = [(f.num(k) if k in f.ints else pl.when(f.raw[k] != "-").then(f.raw[k])).alias(k) for k in f.extra]
    direction = f.get("path").replace_strict(DIRECTIONS, default=None)
    # XP's OPEN-INBOUND lines have no path but say their direction in the action.
    direction = pl.when(action == "OPEN-INBOUND").then(pl.lit("inbound")).otherwise(direction)
    out = (
        f.split(group, time_format, tz)
        .select(
            "line_no",
            f.bad().alias("_bad"),
            (action == LOST_EVENTS).fill_null(False).alias("_lost"),
            f.num("info").alias("_info"),
            pl.col("_time").alias("time"),
            pl.when(f.get("src-ip") != "-").then(f.get("src-ip")).alias("src_ip"),
            f.num("src-port").cast(pl.Int32).alias("src_port"),
            pl.when(f.get("dst-ip") != "-").then(f.get("dst-ip")).alias("dst_ip"),
            f.num("dst-port").cast(pl.Int32).alias("dst_port"),
            pl.when(protocol != "-").then(protocol.replace(PROTOCOLS)).alias("protocol"),
            direction.alias("direction"),
            action.replace_strict(ACTIONS, default=None).alias("action"),
            action.alias("vendor_action"),
            f.num("size").alias("bytes"),
            (pl.struct(extra).struct.json_encode() if extra else pl.lit(None, pl.String)).alias("extra"),
        )
        .collect()
    )
    rejects = reject_frame(group.clear(), "", ctx, NAME)
    if out["_bad"].any():
        bad_lines = group.join(out.filter("_bad").select("line_no"), on="line_no", how="semi")
        worded = f.split(bad_lines, time_format, tz).with_columns(f.reason(tz).alias("_reason")).collect()
        rejects = reject_frame(worded, pl.col("_reason"), ctx, NAME)
    lost = out.filter(~pl.col("_bad") & pl.col("_lost"))
    lost_events = int(lost["_info"].sum() or 0)
    flows = out.filter(~pl.col("_bad") & ~pl.col("_lost")).with_columns(
        pl.lit(NAME).alias("source_format"), pl.lit(ctx.file).alias("source_file")
    )
    return conform_flows(flows), rejects, lost.height, lost_events


def _stamp(date: pl.Expr, time: pl.Expr, time_format: str, tz: str) -> pl.Expr:
    """UTC time of a line from its ``date`` and ``time`` fields."""
    stamp = pl.concat_str([date, time], separator=" ").str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False
    )
    if time_format.upper() == "UTC":
        return stamp.dt.replace_time_zone("UTC")
    # The hour repeated when clocks go back cannot be told apart: take its first pass. Times in
    # the hour skipped when clocks go forward do not exist: null, so the line is rejected.
    return stamp.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


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
