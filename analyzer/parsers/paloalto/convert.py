"""PAN-OS fields to flows: anchor validation, actions, host/port/scheme, time, extra.

Both readers of PAN-OS (syslog CSV by position, web-UI exports by header name) first produce a
frame of *fields*: one String column per name of :mod:`paloalto_columns` (``type``, ``src``,
``dport``, ``url``, ...) plus ``line_no`` and ``text``. This module checks the anchors of each
row (log type, dates, addresses, ports, protocol, action: a shifted column breaks at least one of
them) and turns the rows that hold into flows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from ...flows import conform_flows, fold_host_expr, local_to_utc
from ..addresses import is_ip_address
from ..base import shown
from . import columns as cols

NAME = "paloalto"

FIELDS: tuple[str, ...] = tuple(dict.fromkeys([*cols.COMMON, *cols.TRAFFIC, *cols.THREAT]))
"""Every field name a reader may fill; missing ones are nulls."""

_PROTOCOL = r"^(?:[a-z][a-z0-9-]*|\d{1,3})$"
_URL = r"(?s)^(?P<auth>[^/?#]*)(?P<path>[/?#].*)?$"
_AUTHORITY = r"^(?:\[(?P<v6>[^\]]*)\]|(?P<h>[^:]*))(?::(?P<p>\d{1,5}))?$"

SYSLOG_TIME = "%Y/%m/%d %H:%M:%S"
HIRES_TIME = "%Y-%m-%dT%H:%M:%S%.f%:z"

Labels = Callable[[str], str]
"""Names a field in a reject reason: ``column 8`` for syslog, ``'Destination address'`` for an
export."""


def with_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Add null String columns for the fields ``frame`` lacks."""
    missing = [pl.lit(None, pl.String).alias(f) for f in FIELDS if f not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def naive_time(col: pl.Expr, formats: tuple[str, ...] = (SYSLOG_TIME,)) -> pl.Expr:
    """The date and time as written (no zone); null where it is not one (``2026/11/00``)."""
    parsed = [col.str.to_datetime(f, strict=False, time_unit="us") for f in formats]
    return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)


def _label_expr(text: str) -> pl.Expr:
    return pl.lit(text)


def _shown(col: str) -> pl.Expr:
    return shown(pl.col(col))


def checks(frame: pl.DataFrame, label: Labels, tz: str, time_formats: tuple[str, ...]) -> pl.DataFrame:
    """Add parsed anchor columns and ``_reason`` (null when the row is a flow).

    Checked in order: log type (known, a connection), generated time, source and destination
    address, ports, session id, protocol, action. The reason names the first that fails.
    """
    t = pl.col("type")
    is_traffic = t.is_in(["TRAFFIC", "DECRYPTION"])
    action_map = pl.when(is_traffic).then(
        pl.col("action").replace_strict(cols.TRAFFIC_ACTIONS, default=None, return_dtype=pl.String)
    )
    frame = frame.with_columns(naive_time(pl.col("generated_time"), time_formats).alias("_naive"))
    frame = frame.with_columns(
        *(e.alias(n) for e, n in zip(local_to_utc(pl.col("_naive"), tz), ("_local", "_amb"), strict=True)),
        pl.col("sport").cast(pl.Int32, strict=False).alias("_sport"),
        pl.col("dport").cast(pl.Int32, strict=False).alias("_dport"),
        action_map.when(t == "THREAT")
        .then(pl.col("action").replace_strict(cols.THREAT_ACTIONS, default=None, return_dtype=pl.String))
        .alias("_action"),
    )
    bad_ip = {c: ~is_ip_address(pl.col(c)).fill_null(False) for c in ("src", "dst")}
    bad_port = {c: ~pl.col(c).is_between(0, 65535).fill_null(False) for c in ("_sport", "_dport")}

    def said(field: str, what: str) -> pl.Expr:
        return pl.format(
            "columns cannot be made out: {} is '{}', {}", _label_expr(label(field)), _shown(field), pl.lit(what)
        )

    # (failure, reason) in the order they are checked; a row's reason is its first failure.
    failures: list[tuple[pl.Expr, pl.Expr]] = [
        (t.is_null() | (t == ""), pl.format("no log type in {}", _label_expr(label("type")))),
        (
            t.is_in(cols.NOT_CONNECTIONS),
            pl.format("PAN-OS {} log: not a connection (no addresses, ports or action), not a flow", t),
        ),
        (
            ~t.is_in(list(cols.LAYOUTS)),
            pl.format("unknown PAN-OS log type '{}' in {}", _shown("type"), _label_expr(label("type"))),
        ),
        (
            pl.col("action").is_null() & pl.col("protocol").is_null(),
            pl.format("truncated {} line: it ends before the protocol and action columns", t),
        ),
        (pl.col("_naive").is_null(), said("generated_time", "not a date and time")),
        (
            pl.col("_local").is_null(),
            pl.format(
                "generated time '{}' does not exist in {}: it falls in the hour skipped when clocks go forward",
                _shown("generated_time"),
                pl.lit(tz),
            ),
        ),
        (bad_ip["src"], said("src", "not an IP address")),
        (bad_ip["dst"], said("dst", "not an IP address")),
        (bad_port["_sport"], said("sport", "not a port")),
        (bad_port["_dport"], said("dport", "not a port")),
        (~pl.col("session_id").str.contains(r"^\d+$").fill_null(False), said("session_id", "not a session id")),
        (~pl.col("protocol").str.contains(_PROTOCOL).fill_null(False), said("protocol", "not a protocol")),
        (
            pl.col("_action").is_null(),
            pl.format("unknown {} action '{}' in {}", t, _shown("action"), _label_expr(label("action"))),
        ),
    ]
    failed = frame.select(pl.any_horizontal(f for f, _ in failures).fill_null(False)).to_series()
    if not failed.any():
        return frame.with_columns(pl.lit(None, pl.String).alias("_reason"))
    # when/then evaluates every branch on every row: format the reasons of failing rows only.
    first, *rest = failures
    chain = pl.when(first[0]).then(first[1])
    for failure, message in rest:
        chain = chain.when(failure).then(message)
    # rechunk: pl.format can panic on some filtered multi-chunk columns (polars 2.1).
    failing = frame.filter(failed).rechunk().select(chain).to_series()
    reasons = pl.Series("_reason", [None] * frame.height, dtype=pl.String).scatter(failed.arg_true(), failing)
    return frame.with_columns(reasons)


def _url_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """Join host, port and path of the distinct URLs of URL logs back onto ``frame``.

    PAN-OS writes ``host[:port]/path?query`` without a scheme; ``-/`` when it has no host.
    """
    urls = frame.filter(pl.col("subtype") == "url").select(pl.col("url").unique()).drop_nulls()
    parts = (
        urls.with_columns(pl.col("url").str.extract_groups(_URL).alias("_u"))
        .with_columns(
            pl.col("_u").struct.field("path").alias("url_path"),
            pl.col("_u").struct.field("auth").str.extract_groups(_AUTHORITY).alias("_a"),
        )
        .select(
            "url",
            "url_path",
            fold_host_expr(pl.coalesce(pl.col("_a").struct.field("v6"), pl.col("_a").struct.field("h"))).alias("_host"),
            pl.col("_a").struct.field("p").cast(pl.Int32, strict=False).alias("_url_port"),
        )
        .with_columns(pl.when(~pl.col("_host").is_in(["", "-"])).then(pl.col("_host")).alias("_host"))
    )
    # Join on the narrow url column alone, then put the parts beside the wide frame.
    joined = frame.select("url").join(parts, on="url", how="left", maintain_order="left").drop("url")
    return frame.hstack(joined.get_columns())


_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


def hires_utc(hires: pl.Series) -> pl.Series:
    """High-resolution timestamps (``2026-11-02T08:00:00.025+01:00``) as UTC times; null where
    there is none or it does not read as ``HIRES_TIME``.

    Times repeat within a second and offsets barely change, so in the usual shape (milliseconds,
    ``±hh:mm``) the second is read per distinct value, the milliseconds as a number and each
    distinct offset once; values in any other shape are read in full.
    """
    parts = hires.to_frame("h").select(
        pl.col("h").str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us").alias("s"),
        pl.col("h").str.slice(20, 3).cast(pl.Int64, strict=False).alias("ms"),
        pl.col("h").str.slice(23).alias("off"),
        ((pl.col("h").str.len_bytes() == 29) & (pl.col("h").str.slice(19, 1) == ".")).fill_null(False).alias("ok"),
    )
    offsets = {}
    for text in parts["off"].drop_nulls().unique().to_list():
        if m := _OFFSET.match(text):
            offsets[text] = (1 if m[1] == "+" else -1) * (int(m[2]) * 60 + int(m[3]))
    minutes = pl.col("off").replace_strict(offsets, default=None, return_dtype=pl.Int64)
    fast = parts.select(
        (pl.col("s") - pl.duration(minutes=minutes) + pl.duration(milliseconds=pl.col("ms")))
        .dt.replace_time_zone("UTC")
        .alias("hires")
    ).to_series()
    other = ~parts["ok"] & hires.is_not_null()
    if other.any():
        full = hires.filter(other).str.to_datetime(HIRES_TIME, strict=False, time_unit="us", time_zone="UTC")
        fast = fast.scatter(other.arg_true(), full)
    return fast


def _int(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64, strict=False)


def _extra(kind: str) -> pl.Expr:
    """Vendor fields without a flow column, per layout, as a JSON object."""
    common = [
        pl.col("type"),
        pl.col("subtype"),
        pl.col("device_name"),
        pl.col("vsys"),
        pl.col("from_zone"),
        pl.col("to_zone"),
        pl.col("nat_src"),
        pl.col("nat_dst"),
        pl.col("category"),
    ]
    if kind == "TRAFFIC":
        fields = [
            *common,
            _int("bytes_sent"),
            _int("bytes_received"),
            _int("packets"),
            _int("elapsed").alias("elapsed_sec"),
        ]
    elif kind == "THREAT":
        fields = [
            *common,
            pl.col("threat_id").alias("threat"),
            pl.col("severity"),
            pl.col("direction"),
            pl.col("url"),
            pl.col("_url_port").alias("url_port"),
            pl.col("content_type"),
            pl.col("user_agent"),
            pl.col("referer"),
            pl.col("xff"),
        ]
    else:
        fields = common
    return pl.struct(fields).struct.json_encode()


def _extras(frame: pl.DataFrame) -> pl.Series:
    """The ``extra`` JSON of each row, encoded per layout so each object holds only its layout's
    keys. Only the few columns each layout needs are filtered; the parts are put back in row
    order by their positions (a sort of integers is cheaper than scattering text)."""
    t = frame["type"]
    kinds = {"TRAFFIC": t == "TRAFFIC", "THREAT": t == "THREAT", "other": ~t.is_in(["TRAFFIC", "THREAT"])}
    parts = []
    for kind, mask in kinds.items():
        if not mask.any():
            continue
        if mask.all():
            return frame.select(_extra(kind).alias("extra")).to_series()
        # Lazy, so the filter gathers only the columns the encoding reads.
        encoded = frame.lazy().filter(mask).select(_extra(kind).alias("extra")).collect()
        parts.append(encoded.with_columns(mask.arg_true().alias("_i")))
    if not parts:
        return pl.Series("extra", [None] * frame.height, dtype=pl.String)
    return pl.concat(parts).sort("_i")["extra"]


def to_flows(valid: pl.DataFrame, ctx_file: str) -> pl.DataFrame:
    """Rows that passed :func:`checks` to flows, in their order."""
    if valid.height == 0:
        return conform_flows(pl.DataFrame())
    t = pl.col("type")
    is_url = (t == "THREAT") & (pl.col("subtype") == "url")
    none = pl.lit(None, pl.String)
    if valid.select(is_url.any()).item():
        valid = _url_parts(valid)
    else:
        valid = valid.with_columns(
            none.alias("_host"), none.alias("url_path"), pl.lit(None, pl.Int32).alias("_url_port")
        )
    # The session's port is the log's column; a port written in the URL is the URL's (extra).
    dst_port = pl.col("_dport")
    port_scheme = pl.col("dst_port").replace_strict(cols.PORT_SCHEMES, default=None, return_dtype=pl.String)
    app_scheme = pl.col("app").replace_strict(cols.APP_SCHEMES, default=None, return_dtype=pl.String)
    hires = hires_utc(valid["hires"])
    host = pl.when(is_url).then(pl.col("_host"))
    out = (
        valid.lazy()
        .with_columns(dst_port.alias("dst_port"), host.alias("dst_host"), _extras(valid))
        .select(
            pl.coalesce(hires, pl.col("_local")).alias("time"),
            pl.col("src").alias("src_ip"),
            pl.col("_sport").alias("src_port"),
            "dst_host",
            pl.col("dst").alias("dst_ip"),
            "dst_port",
            pl.coalesce(port_scheme, app_scheme).alias("scheme"),
            pl.col("protocol").str.to_lowercase().alias("protocol"),
            pl.col("_action").alias("action"),
            pl.col("action").alias("vendor_action"),
            pl.when(t == "TRAFFIC").then(_int("bytes")).alias("bytes"),
            pl.when(t == "THREAT").then(pl.col("method")).alias("method"),
            pl.when(is_url).then(pl.col("url_path")).alias("url_path"),
            pl.col("src_user").alias("user"),
            "rule",
            "app",
            pl.col("serial").alias("device"),
            "session_id",
            pl.when(t == "TRAFFIC").then(pl.col("end_reason")).alias("end_reason"),
            pl.when(pl.col("dst_host").is_not_null()).then(pl.lit("log")).alias("host_source"),
            "extra",
            pl.lit(NAME).alias("source_format"),
            pl.lit(ctx_file).alias("source_file"),
            "line_no",
        )
    )
    return conform_flows(out).collect()
