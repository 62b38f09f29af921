"""The contracts at the bottom of the house: the tables' schemas as data, and the normalizers.

Every parser produces frames of exactly the flow columns, in this order, with these types, so
any later stage (attribution, scope, match, verdicts, reports) can trust the shape. Adding a
column means adding one row to ``FLOW_COLUMNS``; :func:`conform` fills it with nulls for parsers
that do not know it. The reject, evidence and per-file schemas are declared the same way.

The normalizers give one spelling to what logs write several ways: host names
(:func:`fold_host_expr`), addresses (:func:`canonical_addresses`), local times
(:func:`local_to_utc`) and zone names (:func:`zone_error`). Parsers and later stages use these
and never re-spell them.

This module imports nothing of the project's: everything else builds on it.
"""

from __future__ import annotations

import functools
import ipaddress
import zoneinfo
from dataclasses import dataclass

import polars as pl

ACTIONS = ("allowed", "blocked", "auth-required", "failed")
"""Normalized device decisions. ``failed``: the device let the flow through but it failed beyond
(Squid 5xx from a direct connection, ``/000`` aborts). ``auth-required``: a proxy challenge
(Squid 407), neither a block nor a pass."""

ACTION = pl.Enum(list(ACTIONS))
DIRECTIONS = ("outbound", "inbound", "forward")
HOST_SOURCES = ("log", "dns", "proxy", "session")
"""How ``dst_host`` is known: written in the log line itself, or attributed from DNS answers,
a proxy's next-hop address, or a PAN-OS session shared with a URL log."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    doc: str


FLOW_COLUMNS: tuple[Column, ...] = (
    Column("time", pl.Datetime("us", "UTC"), "when the flow was logged, in UTC"),
    Column("src_ip", pl.String, "source address (IPv4 or IPv6, no brackets)"),
    Column("src_port", pl.Int32, "source port"),
    Column("dst_host", pl.String, "destination host: lower case, no port, no trailing dot"),
    Column("dst_ip", pl.String, "destination address where the log has one"),
    Column("dst_port", pl.Int32, "destination port"),
    Column("scheme", pl.String, "http or https where known"),
    Column("protocol", pl.String, "transport protocol: tcp, udp, icmp, or a number"),
    Column("direction", pl.Enum(list(DIRECTIONS)), "outbound/inbound/forward where logged"),
    Column("action", ACTION, "normalized decision: " + ", ".join(ACTIONS)),
    Column("vendor_action", pl.String, "the raw result as the device wrote it"),
    Column("status", pl.Int32, "HTTP status where the log has one"),
    Column("bytes", pl.Int64, "bytes transferred"),
    Column("method", pl.String, "HTTP method (CONNECT for tunnels)"),
    Column("url_path", pl.String, "path and query of the URL, without host"),
    Column("user", pl.String, "authenticated user, if any"),
    Column("rule", pl.String, "firewall rule or proxy ACL that decided"),
    Column("app", pl.String, "application as the device identified it (PAN-OS App-ID)"),
    Column("device", pl.String, "the device that logged the flow (serial, host name)"),
    Column("session_id", pl.String, "the device's session id"),
    Column("end_reason", pl.String, "why the session ended (PAN-OS)"),
    Column(
        "decided_by",
        pl.String,
        "the line (file:line) whose action is the flow's, when not its own: a URL log that blocked the session",
    ),
    Column("host_source", pl.Enum(list(HOST_SOURCES)), "how dst_host is known"),
    Column("host_candidates", pl.Int32, "how many names evidence tied to dst_ip (1 = unique)"),
    Column("host_names", pl.String, "names evidence tied to dst_ip, space separated, dst_host first"),
    Column("extra", pl.String, "vendor fields without a column of their own, as a JSON object"),
    Column("source_format", pl.String, "the parser that read the line"),
    Column("source_file", pl.String, "the file the line came from"),
    Column("line_no", pl.Int64, "the line's true number in its (decompressed) file, from 1"),
)

FLOW_SCHEMA: pl.Schema = pl.Schema({c.name: c.dtype for c in FLOW_COLUMNS})

REJECT_COLUMNS: tuple[Column, ...] = (
    Column("source_file", pl.String, "the file the line came from"),
    Column("line_no", pl.Int64, "the line's number in its file"),
    Column("source_format", pl.String, "the parser that refused it"),
    Column("reason", pl.String, "why the line is not a flow"),
    Column("raw", pl.String, "the line as read"),
)

REJECT_SCHEMA: pl.Schema = pl.Schema({c.name: c.dtype for c in REJECT_COLUMNS})


EVIDENCE_COLUMNS: tuple[Column, ...] = (
    Column("time", pl.Datetime("us", "UTC"), "when the answer was seen, in UTC"),
    Column("client", pl.String, "who asked (address or name), if known"),
    Column("query", pl.String, "the name asked for: lower case, no trailing dot"),
    Column("type", pl.String, "record type: A, AAAA, CNAME (Zeek: the query type)"),
    Column("answers", pl.List(pl.String), "addresses and CNAME targets answered, normalized, in answer order"),
    Column("ttls", pl.List(pl.Int64), "TTL in seconds of each answer (null where unknown)"),
    Column("host_source", pl.Enum(list(HOST_SOURCES)), "what kind of evidence: dns, proxy or session"),
    Column("source_format", pl.String, "the reader (or flow parser) it came from"),
    Column("source_file", pl.String, "the file it came from"),
    Column("line_no", pl.Int64, "its line in that file"),
)
"""One row per line of evidence: a DNS response (Zeek writes every answer of a response on one
line, so answers are lists and one line stays one record) or one host/address pair."""

EVIDENCE_SCHEMA: pl.Schema = pl.Schema({c.name: c.dtype for c in EVIDENCE_COLUMNS})


@dataclass(frozen=True)
class Evidence:
    """What a flow format's lines tell attribution, declared by its parser (``Parser.evidence``),
    so that attribution names no format.

    ``host_source``: lines that carry a host together with its address tie the two, as this kind
    of evidence (``"proxy"``: Squid's next-hop address; ``"session"``: PAN-OS URL logs).
    ``session_keys``: columns that tie a line without a host to a line with one of the same
    connection (PAN-OS: ``("device", "session_id")``); empty when the format has no sessions.
    ``session_seconds``: the field of ``extra`` that holds a session line's length in seconds
    (its ``time`` is the session's end), so that a recycled session id is told apart by the
    span it covers; None when the lines do not say (a time window around the line is used).
    Example: ``Evidence("session", session_keys=("device", "session_id"), session_seconds="elapsed_sec")``.
    """

    host_source: str
    session_keys: tuple[str, ...] = ()
    session_seconds: str | None = None

    def __post_init__(self) -> None:
        if self.host_source not in HOST_SOURCES:
            raise ValueError(f"host_source must be one of {HOST_SOURCES}, not {self.host_source!r}")
        unknown = [k for k in self.session_keys if k not in FLOW_SCHEMA]
        if unknown:
            raise ValueError(f"session keys must be flow columns: {unknown}")


FILES_COLUMNS: tuple[Column, ...] = (
    Column("file", pl.String, "the input file"),
    Column("format", pl.String, "the parser that read it (null when none did)"),
    Column("kind", pl.String, "what its records are: flows, or dns evidence"),
    Column("status", pl.String, "read, or why the file was passed over"),
    Column("lines", pl.Int64, "lines in the (decompressed) file"),
    Column("records", pl.Int64, "lines that became records"),
    Column("rejects", pl.Int64, "lines rejected, with a reason"),
    Column("skipped", pl.Int64, "headers, blank lines, comments"),
    Column("first_reject_line", pl.Int64, "the line number of the first reject"),
    Column("decode_errors", pl.Int64, "lines with bytes that were not valid text (replaced)"),
    Column("lost_events", pl.Int64, "events the log itself says were lost (pfirewall INFO-EVENTS-LOST)"),
    Column("damage", pl.String, "why the file's text ended early (truncated or corrupt compressed data)"),
)
"""One row per input file: ``lines == records + rejects + skipped``."""

FILES_SCHEMA: pl.Schema = pl.Schema({c.name: c.dtype for c in FILES_COLUMNS})


def conform(frame: pl.DataFrame | pl.LazyFrame, schema: pl.Schema):
    """Return ``frame`` with exactly the columns of ``schema``, in order and cast to their types.

    Columns the frame lacks become nulls; columns the schema does not know are dropped (for
    flows, put them in ``extra``). Example: ``conform(pl.DataFrame({"dst_port": [443]}), FLOW_SCHEMA)``.
    """
    # Resolve the frame's schema once: on a LazyFrame each call walks the whole query plan.
    have = frame.collect_schema()
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in schema.items() if n not in have]
    if missing:  # added with with_columns, so a frame of no rows keeps no rows
        frame = frame.with_columns(missing)
    return frame.select([pl.col(n) if have.get(n) == t else pl.col(n).cast(t) for n, t in schema.items()])


def conform_flows(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`conform` to the flow columns. Example: ``conform_flows(pl.DataFrame({"dst_port": [443]}))``."""
    return conform(frame, FLOW_SCHEMA)


def conform_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the reject columns, in order and typed."""
    return conform(frame, REJECT_SCHEMA)


def empty_flows() -> pl.DataFrame:
    """An empty frame of flows. Example: ``empty_flows().schema == FLOW_SCHEMA``."""
    return pl.DataFrame(schema=FLOW_SCHEMA)


def empty_rejects() -> pl.DataFrame:
    """An empty frame of rejects."""
    return pl.DataFrame(schema=REJECT_SCHEMA)


def conform_evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`conform` to the evidence columns."""
    return conform(frame, EVIDENCE_SCHEMA)


def empty_evidence() -> pl.DataFrame:
    """An empty evidence frame. Example: ``empty_evidence().schema == EVIDENCE_SCHEMA``."""
    return pl.DataFrame(schema=EVIDENCE_SCHEMA)


# --- normalizers ---------------------------------------------------------------------------------

IP_LIKE = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$"
"""Text shaped like an IPv4 or IPv6 address (a host that is an address names nothing)."""


def fold_host_expr(expr: pl.Expr) -> pl.Expr:
    """A host name as flows hold it: lower case, no trailing dot. ``"WWW.Example.COM."`` →
    ``"www.example.com"``. (IDNA folding of non-ASCII names is the matcher's, per distinct host.)"""
    return expr.str.to_lowercase().str.strip_suffix(".")


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """A DNS name from an evidence file: :func:`fold_host_expr` of the trimmed text."""
    return fold_host_expr(expr.str.strip_chars())


@functools.lru_cache(maxsize=1 << 16)
def canonical_address(text: str) -> str:
    """One address in one spelling: compressed lower-case IPv6, IPv4-mapped IPv6 as IPv4,
    brackets dropped. Text that is not an address is kept, trimmed and lower-cased. (Cached:
    the same addresses come back in every chunk, and ``ipaddress`` takes ~25 µs a text.)"""
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return text.strip().lower()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # Windows' DNS client writes IPv4 answers as ::ffff:a.b.c.d
    return str(addr)


def canonical_addresses(values: pl.Series) -> pl.Series:
    """:func:`canonical_address` of a column, so DNS answers, flow addresses and the site file's
    addresses join. Distinct values only, and only IPv6 or bracketed texts go through Python
    (IPv4 addresses and host names are already in their one spelling once trimmed and
    lower-cased). Example: ``"::FFFF:203.0.113.7"`` → ``"203.0.113.7"``."""
    distinct = pl.DataFrame({"raw": values.drop_nulls().unique()})
    simple = ~pl.col("raw").str.contains(r"[:\[]")
    plain = distinct.filter(simple).with_columns(pl.col("raw").str.strip_chars().str.to_lowercase().alias("norm"))
    odd = distinct.filter(~simple)
    if odd.height:
        folded = [canonical_address(t) for t in odd["raw"].to_list()]
        plain = pl.concat([plain, odd.with_columns(pl.Series("norm", folded, dtype=pl.String))])
    looked_up = values.to_frame("raw").join(plain, on="raw", how="left", maintain_order="left")
    return looked_up["norm"].alias(values.name)


def normalize_answer_lists(answers: pl.Series) -> pl.Series:
    """Normalize every answer of a list column: addresses canonical (see
    :func:`canonical_addresses`), names lower case without trailing dot. Distinct values are
    normalized once and joined back. Example: ``[["WWW.X.COM.", "::ffff:192.0.2.1"]]`` →
    ``[["www.x.com", "192.0.2.1"]]``."""
    flat = pl.DataFrame({"_a": answers}).with_row_index("_r").explode("_a")
    distinct = flat.select(pl.col("_a").unique()).drop_nulls()
    is_addr = pl.col("_a").str.strip_chars().str.strip_chars("[]").str.contains(IP_LIKE)
    distinct = distinct.with_columns(
        pl.when(is_addr).then(pl.lit(None, pl.String)).otherwise(normalize_name(pl.col("_a"))).alias("_n")
    )
    addr = distinct.filter(pl.col("_n").is_null())
    addr = addr.with_columns(canonical_addresses(addr["_a"]).alias("_n"))
    mapping = pl.concat([distinct.filter(pl.col("_n").is_not_null()), addr])
    grouped = (
        flat.join(mapping, on="_a", how="left", maintain_order="left")
        .group_by("_r", maintain_order=True)
        .agg(pl.col("_n").drop_nulls())
    )
    # Rows whose list was empty or null still get one (empty) list back.
    rows = pl.DataFrame({"_r": pl.int_range(answers.len(), dtype=pl.UInt32, eager=True)})
    out = rows.join(grouped, on="_r", how="left", maintain_order="left")
    return out["_n"].fill_null(pl.lit([], pl.List(pl.String))).alias(answers.name)


def local_to_utc(naive: pl.Expr, tz: str) -> tuple[pl.Expr, pl.Expr]:
    """Naive local times (in line order) read in ``tz``, as UTC, and whether each was ambiguous.

    A time in the hour skipped when clocks go forward does not exist: null (the line is then a
    reject). A time in the hour repeated when clocks go back is ambiguous: when the log is in
    order, it is the second pass if a line before it in the repeated hour showed a later time
    (the clock went back in between), else the first; when the ambiguous lines so read would
    not be in order, every one is read as the first pass. Order is judged within the lines
    given (a read block), so the rare block that starts inside the second pass reads its lines
    as the first. Returns (UTC time, ambiguous) expressions.
    """
    if tz in ("UTC", "Etc/UTC"):  # no gap, no repeated hour: one conversion, nothing to order
        return naive.dt.replace_time_zone("UTC"), pl.lit(False)
    early = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    late = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    ambiguous = (early != late).fill_null(False)
    seen = pl.when(ambiguous).then(naive).cum_max().forward_fill().shift(1)
    second = ambiguous & (seen > naive).fill_null(False)
    resolved = pl.when(second).then(late).otherwise(early)
    in_order = (pl.when(ambiguous).then(resolved).drop_nulls().diff().fill_null(pl.duration()) >= pl.duration()).all()
    return pl.when(in_order).then(resolved).otherwise(early).dt.convert_time_zone("UTC"), ambiguous


def zone_error(tz: str) -> str | None:
    """None when ``tz`` is a known IANA zone, else what to say about it (the caller raises the
    error of its kind, naming its file and key)."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone '{tz}' (use an IANA name such as 'Europe/Berlin' or 'UTC')"
    return None


def compact(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy that owns its strings. Polars string columns are views into the buffers they were
    cut from, so a few rows kept across chunks (rejects, the partial aggregates of each chunk)
    would pin every chunk's whole text in memory: 20M Squid lines, 360,000 findings, +600 MB."""
    return pl.from_arrow(frame.to_arrow())
