"""The flow schema, declared once as data.

Every parser produces frames of exactly these columns, in this order, with these types, so any
later stage (attribution, scope, match, verdicts, reports) can trust the shape. Adding a column
means adding one row to ``FLOW_COLUMNS``; ``conform`` fills it with nulls for parsers that do
not know it.
"""

from __future__ import annotations

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


def _conform(frame: pl.DataFrame | pl.LazyFrame, schema: pl.Schema):
    # Resolve the frame's schema once: on a LazyFrame each call walks the whole query plan.
    have = frame.collect_schema()
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in schema.items() if n not in have]
    if missing:  # added with with_columns, so a frame of no rows keeps no rows
        frame = frame.with_columns(missing)
    return frame.select([pl.col(n) if have.get(n) == t else pl.col(n).cast(t) for n, t in schema.items()])


def conform_flows(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the flow columns, in order and cast to their types.

    Columns the frame lacks become nulls; columns the schema does not know are dropped (put them
    in ``extra``). Example: ``conform_flows(pl.DataFrame({"dst_port": [443]}))``.
    """
    return _conform(frame, FLOW_SCHEMA)


def conform_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the reject columns, in order and typed."""
    return _conform(frame, REJECT_SCHEMA)


def empty_flows() -> pl.DataFrame:
    """An empty frame of flows. Example: ``empty_flows().schema == FLOW_SCHEMA``."""
    return pl.DataFrame(schema=FLOW_SCHEMA)


def empty_rejects() -> pl.DataFrame:
    """An empty frame of rejects."""
    return pl.DataFrame(schema=REJECT_SCHEMA)
