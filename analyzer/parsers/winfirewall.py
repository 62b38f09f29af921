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
``split`` (its length is the field count), and each distinct header is handled once per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..flows import conform_flows, conform_rejects, empty_flows, local_to_utc
from .addresses import is_ip_address
from .base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame, shown

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


def _padding(text: pl.Expr) -> pl.Expr:
    """Whether a line has a tab, a run of spaces or a leading or trailing space."""
    return (
        text.str.contains("\t", literal=True)
        | text.str.contains("  ", literal=True)
        | text.str.starts_with(" ")
        | text.str.ends_with(" ")
    )


def _padded(lines: pl.DataFrame) -> bool:
    """Whether any line has padding (the ``_pad`` flag :func:`parse` worked out, when there)."""
    if "_pad" in lines.columns:
        return bool(lines["_pad"].any())
    return bool(lines.select(_padding(pl.col("text")).any()).item())


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


@dataclass
class HeaderState:
    """What earlier chunks of a file said: the ``#Fields:`` list and the ``#Time Format:``."""

    fields: tuple | None = None
    time_format: str = "Local"


def _segments(lines: pl.DataFrame, comment: pl.Series, ctx: ParseContext) -> tuple[list[int], list[tuple]]:
    """Header lines of a chunk → where each segment starts and the (field list, UTC?) it is under.

    Segment 0 (lines before the chunk's first header) is under what earlier chunks left in
    ``ctx.state``; every ``#Fields:`` or ``#Time Format:`` line starts the next one.
    """
    state = ctx.state_of(HeaderState)
    fields, time_format = state.fields, state.time_format
    starts: list[int] = []
    keys = [(fields, time_format.upper() == "UTC")]
    for line_no, line in lines.select("line_no", "text").filter(comment).iter_rows():
        if line.startswith("#Fields:"):
            fields = _header_fields(line)
        elif line.startswith("#Time Format:"):
            time_format = _time_format(line)
        else:
            continue
        starts.append(line_no)
        keys.append((fields, time_format.upper() == "UTC"))
    state.fields, state.time_format = fields, time_format
    return starts, keys


def _groups(data: pl.DataFrame, starts: list[int], keys: list[tuple]) -> dict[tuple, pl.DataFrame]:
    """Data lines by the distinct (field list, UTC?) they are under, each group in line order.

    A header repeated after a restart is the same list, so a file with many restarts still parses
    in one pass; only a chunk whose headers really differ is split.
    """
    distinct = list(dict.fromkeys(keys))
    if len(distinct) == 1:
        return {distinct[0]: data}
    segment = pl.Series(starts, dtype=pl.Int64).search_sorted(data["line_no"], side="right")
    key_of_line = pl.Series([distinct.index(k) for k in keys], dtype=pl.UInt32).gather(segment)
    return {key: data.filter(key_of_line == i) for i, key in enumerate(distinct)}


class _Fields:
    """Expressions over one split line under a given ``#Fields:`` list."""

    def __init__(self, fields: tuple[str, ...]):
        self.n = len(fields)
        self.raw = {name: pl.col(f"_f{i}") for i, name in enumerate(fields)}
        self.ints = [name for name in _INT_FIELDS if name in self.raw]
        self.ips = [name for name in ("src-ip", "dst-ip") if name in self.raw]
        self.extra = [name for name in fields if name not in _COLUMN_FIELDS]

    def get(self, name: str) -> pl.Expr:
        return self.raw.get(name, pl.lit(None, pl.String))

    def num(self, name: str) -> pl.Expr:
        return pl.col(f"_i_{name}") if name in self.ints else pl.lit(None, pl.Int64)

    def bad_int(self, name: str) -> pl.Expr:
        value = pl.col(f"_i_{name}")
        wrong = value.is_null()
        if name.endswith("port"):  # a port outside 0-65535 is garbage, not a flow
            wrong = wrong | ~value.is_between(0, 65535)
        return (self.raw[name] != "-") & wrong

    def split(self, group: pl.DataFrame, is_utc: bool, tz: str, keep_text: bool = False) -> pl.LazyFrame:
        """Lines → lazy frame of field count, split fields, typed numbers, time and action."""
        # One split into a list gives the field count (its length) and every field (a cheap
        # gather each); the fields past the header's count only matter for rejects.
        text = _collapse_spaces(group["text"]) if _padded(group) else group["text"]
        # Collected with the streaming engine, which runs the whole query on every core in morsels
        # (the in-memory engine splits each column on one core).
        lf = (
            group.with_columns(text.alias("_t"))
            .lazy()
            .select("line_no", *(["text"] if keep_text else []), pl.col("_t").str.split(" ").alias("_l"))
            .select(
                pl.exclude("_l"),
                pl.col("_l").list.len().alias("_n"),
                *[pl.col("_l").list.get(i, null_on_oob=True).alias(f"_f{i}") for i in range(self.n)],
            )
        )
        return lf.with_columns(
            # Typed numeric fields once; "-" means not applicable and stays null.
            *[
                pl.when(self.raw[k] != "-").then(self.raw[k].cast(pl.Int64, strict=False)).alias(f"_i_{k}")
                for k in self.ints
            ],
            *_stamp(self.get("date"), self.get("time"), is_utc, tz),
            self.get("action").alias("_action"),
        )

    def bad_ip(self, name: str) -> pl.Expr:
        value = self.raw[name]
        return (value != "-") & ~is_ip_address(value)

    def bad(self) -> pl.Expr:
        """Cheap flag of lines that are rejects (the reason is worded only for those)."""
        action = pl.col("_action")
        wrong = pl.col("_time").is_null() | ~action.is_in(list(ACTIONS))
        if self.ints:
            wrong = wrong | pl.any_horizontal([self.bad_int(k) for k in self.ints])
        if self.ips:
            wrong = wrong | pl.any_horizontal([self.bad_ip(k) for k in self.ips])
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
            what = "a port" if k.endswith("port") else "a number"
            reason = reason.when(self.bad_int(k)).then(pl.lit(f"{k} is not {what}: '") + self.raw[k] + "'")
        for k in self.ips:
            reason = reason.when(self.bad_ip(k)).then(
                pl.format(f"{k} is not an IP address: '{{}}'", shown(self.raw[k]))
            )
        return reason.otherwise(pl.lit("not a pfirewall.log line"))


def _parse_group(
    group: pl.DataFrame, fields: tuple[str, ...], is_utc: bool, ctx: ParseContext
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
        f.split(group, is_utc, tz)
        .select(
            "line_no",
            f.bad().alias("_bad"),
            (action == LOST_EVENTS).fill_null(False).alias("_lost"),
            "_amb",
            f.num("info").alias("_info"),
            pl.col("_time").alias("time"),
            pl.when(f.get("src-ip") != "-").then(f.get("src-ip")).alias("src_ip"),
            f.num("src-port").cast(pl.Int32, strict=False).alias("src_port"),
            pl.when(f.get("dst-ip") != "-").then(f.get("dst-ip")).alias("dst_ip"),
            f.num("dst-port").cast(pl.Int32, strict=False).alias("dst_port"),
            pl.when(protocol != "-").then(protocol.replace(PROTOCOLS)).alias("protocol"),
            direction.alias("direction"),
            action.replace_strict(ACTIONS, default=None).alias("action"),
            action.alias("vendor_action"),
            f.num("size").alias("bytes"),
            (pl.struct(extra).struct.json_encode() if extra else pl.lit(None, pl.String)).alias("extra"),
            pl.lit(NAME).alias("source_format"),
            pl.lit(ctx.file).alias("source_file"),
        )
        .collect(engine="streaming")
    )
    rejects = reject_frame(group.clear(), "", ctx, NAME)
    n_bad, n_lost = out.select(pl.col("_bad").sum(), (pl.col("_lost") & ~pl.col("_bad")).sum()).row(0)
    if n_bad:
        bad_lines = group.filter(out["_bad"])
        worded = f.split(bad_lines, is_utc, tz, keep_text=True).with_columns(f.reason(tz).alias("_reason")).collect()
        rejects = reject_frame(worded, pl.col("_reason"), ctx, NAME)
    lost_events = 0
    n_ambiguous = int(out.select((pl.col("_amb") & ~pl.col("_bad") & ~pl.col("_lost")).sum()).item())
    if n_bad or n_lost:
        lost = out.filter(~pl.col("_bad") & pl.col("_lost"))
        lost_events = int(lost["_info"].sum() or 0)
        out = out.filter(~pl.col("_bad") & ~pl.col("_lost"))
    return conform_flows(out), rejects, n_lost, lost_events, n_ambiguous


def _stamp(date: pl.Expr, time: pl.Expr, is_utc: bool, tz: str) -> tuple[pl.Expr, pl.Expr]:
    """UTC time of a line from its ``date`` and ``time`` fields (``_time``), and whether it
    fell in the hour repeated when clocks go back (``_amb``: see :func:`analyzer.flows.local_to_utc`)."""
    stamp = pl.concat_str([date, time], separator=" ").str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False
    )
    # The hour repeated when clocks go back is told apart by line order; times in the hour
    # skipped when clocks go forward do not exist: null, so the line is rejected.
    utc, ambiguous = local_to_utc(stamp, "UTC" if is_utc else tz)
    return utc.alias("_time"), ambiguous.alias("_amb")


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
    # The per-line tests in one streaming query, on every core (as Series methods each ran on one).
    # A regex test allocates nothing, unlike stripping every line.
    flags = (
        lines.lazy()
        .select(
            pl.col("text").str.starts_with("#").alias("comment"),
            (~pl.col("text").str.contains(r"\S")).alias("blank"),
            _padding(pl.col("text")).alias("_pad"),
        )
        .collect(engine="streaming")
    )
    comment, blank = flags["comment"], flags["blank"]
    lines = lines.with_columns(flags["_pad"])
    n_header, n_blank = int(comment.sum()), int(blank.sum())
    starts, keys = _segments(lines, comment, ctx)
    data = lines.filter(~blank & ~comment) if n_header or n_blank else lines
    skipped = {k: v for k, v in (("header", n_header), ("blank", n_blank)) if v}
    notes: dict[str, object] = {}
    rejects, flows = [], []
    lost_lines = lost_events = 0
    for (fields, is_utc), group in _groups(data, starts, keys).items():
        if group.is_empty():
            continue
        if fields is None:
            rejects.append(reject_frame(group, "no #Fields: header before this line", ctx, NAME))
            continue
        missing = [r for r in _REQUIRED if r not in fields]
        if missing:
            reason = f"#Fields: header lacks {', '.join(missing)}; cannot read this line"
            rejects.append(reject_frame(group, reason, ctx, NAME))
            continue
        got, bad, n_lost, n_events, n_ambiguous = _parse_group(group, fields, is_utc, ctx)
        if n_ambiguous:
            notes["ambiguous_times"] = notes.get("ambiguous_times", 0) + n_ambiguous
        flows.append(got)
        rejects.append(bad)
        lost_lines += n_lost
        lost_events += n_events
        notes["time_zone"] = "UTC" if is_utc else ctx.options.tz
    if lost_lines:
        skipped["lost-events"] = lost_lines
        notes["lost_events"] = lost_events
    if not flows:
        records = empty_flows()
    else:
        records = pl.concat(flows) if len(flows) > 1 else flows[0]
        if len(flows) > 1:
            records = records.sort("line_no")
    reject_out = (
        conform_rejects(pl.concat(rejects).sort("line_no")) if rejects else reject_frame(lines.clear(), "", ctx, NAME)
    )
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
