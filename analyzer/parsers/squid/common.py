"""What every Squid variant shares: the decision (action) from result code, status and hierarchy,
host and port from the URL, and the columns every flow gets (:func:`finish_flows`). The native
parser (:mod:`analyzer.parsers.squid`) and custom logformats (:mod:`.logformat`) both end here."""

from __future__ import annotations

import polars as pl

from ...flows import ACTION, IP_LIKE, conform_flows, fold_host_expr
from ..addresses import IP_ADDRESS, is_host_name, is_ip_address
from ..base import PORT_SCHEMES, ParseContext, shown

NAME = "squid"

# Hierarchy codes whose peer is the origin server itself, so the peer address is the
# destination's address (and evidence tying the URL's host to it).
DIRECT_HIERARCHY = ("HIER_DIRECT", "DIRECT", "ORIGINAL_DST", "CLOSEST_DIRECT", "TIMEOUT_HIER_DIRECT", "TIMEOUT_DIRECT")
PROXY_ANSWERED = ("NONE", "NONE_NONE", "TAG_NONE")
"""Result codes of a request the proxy answered itself, without cache or network work."""
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def action_expr(code: pl.Expr, status: pl.Expr, hier: pl.Expr) -> pl.Expr:
    """Normalized action from Squid's result code, HTTP status and hierarchy code.

    Refused by the proxy itself, so nothing reached an origin: ``TCP_DENIED``,
    ``TCP_DENIED_REPLY``, and a ``NONE``/``NONE_NONE``/``TAG_NONE`` code (no cache or network
    work was done) with a 4xx status: blocked (407: a proxy authentication challenge), whatever
    the 4xx (a 403 by an ACL or a 400 for a malformed request alike). ``/000`` and ``_ABORTED``
    transfers, 5xx answered over a direct connection, and 5xx a ``NONE`` code answered (the
    proxy could not go on) failed; everything else passed.
    """
    by_proxy = code.is_in(PROXY_ANSWERED)
    denied = code.str.contains("DENIED") | (by_proxy & status.is_between(400, 499))
    return (
        pl.when(denied & (status == 407))
        .then(pl.lit("auth-required"))
        .when(denied)
        .then(pl.lit("blocked"))
        .when(
            (status == 0)
            | code.str.ends_with("_ABORTED")
            | ((status >= 500) & (by_proxy | hier.str.strip_prefix("TIMEOUT_").is_in(DIRECT_HIERARCHY)))
        )
        .then(pl.lit("failed"))
        .otherwise(pl.lit("allowed"))
    )


def _decision(code: pl.Expr, status: pl.Expr, hier: pl.Expr, peer: pl.Expr) -> list[pl.Expr]:
    """``action``, ``vendor_action`` and ``dst_ip`` (the peer, where it is the origin's address)."""
    direct = hier.str.strip_prefix("TIMEOUT_").is_in(DIRECT_HIERARCHY)
    return [
        action_expr(code, status, hier).cast(ACTION).alias("action"),
        (code + "/" + status.cast(pl.String).str.zfill(3)).alias("vendor_action"),
        pl.when(direct & peer.str.contains(IP_LIKE)).then(peer).alias("dst_ip"),
    ]


# What precedes the path of a Squid ``%ru``: ``scheme://authority``, or ``host:port`` of a
# CONNECT. The first "://" anywhere makes a scheme, as Squid's own URL printing never puts one
# elsewhere before the path.
_URL_HEAD = r"^(?:.*?://)?[^/?#]*"


def _with_url(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``scheme``, ``dst_host``, ``dst_port`` and ``url_path`` from ``url`` and ``method``.

    URLs are many but their heads (``scheme://authority``) few: rows get the head and the path
    by position, and the head is parsed once per distinct value, then joined back.
    """
    url = pl.col("url")
    has_scheme = url.str.contains("://", literal=True)
    frame = frame.with_columns(url.str.extract(_URL_HEAD, 0).alias("_head"))
    # An authority is what precedes the first '/' (or '?', '#'); URLs like "error:invalid-request"
    # or a bare "/favicon.ico" have none. A URL without a path has the path "/".
    frame = frame.with_columns(
        pl.when(has_scheme).then(url.str.slice(pl.col("_head").str.len_chars()).str.pad_end(1, "/")).alias("url_path"),
        pl.when(has_scheme | (pl.col("method") == "CONNECT")).then(pl.col("_head")).alias("_head"),
    )
    heads = frame.select(pl.col("_head").unique()).drop_nulls()
    frame = frame.join(_parse_heads(heads), on="_head", how="left", maintain_order="left").drop("_head")
    # A URL's host that is an address is the destination's address, not a name.
    return frame.with_columns(pl.coalesce("dst_ip", "_addr").alias("dst_ip")).drop("_addr")


def _parse_heads(heads: pl.LazyFrame) -> pl.LazyFrame:
    """``scheme``, ``dst_host``, ``dst_port``, ``_addr`` (the host, when it is an address) and
    ``_head_reason`` (why the head cannot be right, else null) of each distinct ``_head``. A
    CONNECT's ``host:port`` has no scheme: the port tells it, as for PAN-OS (443/8531 https,
    80/8530 http, otherwise none)."""
    # In steps, each an input column of the next: an expression used twice in one select is
    # evaluated twice (the authority's regex was run three times), which costs when a log has
    # tens of thousands of distinct heads.
    head = pl.col("_head")
    has_scheme = head.str.contains("://", literal=True)
    parts = head.str.splitn("://", 2)
    heads = heads.with_columns(
        pl.when(has_scheme).then(parts.struct.field("field_0").str.to_lowercase()).alias("_scheme"),
        pl.when(has_scheme).then(parts.struct.field("field_1")).otherwise(head).alias("_authority"),
    )
    g = (
        pl.col("_authority")
        .str.replace(r"^[^@]*@", "")
        .str.extract_groups(r"^(?:\[(?P<v6>[^\]]*)\]|(?P<h>[^:]*|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*))(?::(?P<p>\d{1,5}))?$")
    )
    heads = heads.with_columns(g.alias("_g")).with_columns(
        fold_host_expr(pl.coalesce(pl.col("_g").struct.field("v6"), pl.col("_g").struct.field("h"))).alias("_host"),
    )
    default_port = pl.col("_scheme").replace_strict(_DEFAULT_PORTS, default=None, return_dtype=pl.Int32)
    heads = heads.with_columns(
        pl.coalesce(pl.col("_g").struct.field("p").cast(pl.Int32, strict=False), default_port).alias("dst_port"),
        is_ip_address(pl.col("_host")).fill_null(False).alias("_is_addr"),
    )
    heads = heads.with_columns(
        pl.when((pl.col("_host") != "") & ~pl.col("_is_addr")).then(pl.col("_host")).alias("_name")
    )
    scheme, name = pl.col("_scheme"), pl.col("_name")
    by_port = pl.col("dst_port").replace_strict(PORT_SCHEMES, default=None, return_dtype=pl.String)
    return heads.select(
        "_head",
        pl.coalesce(scheme, by_port).alias("scheme"),
        name.alias("dst_host"),
        "dst_port",
        pl.when(pl.col("_is_addr")).then(pl.col("_host")).alias("_addr"),
        pl.when(~scheme.str.contains(_SCHEME))
        .then(
            pl.format("URL scheme '{}' is not a scheme (a letter, then letters, digits, '+', '-', '.')", shown(scheme))
        )
        .when(~is_host_name(name))
        .then(pl.format("URL host '{}' is not a host name ({})", shown(name), pl.lit(HOST_RULE)))
        .alias("_head_reason"),
    )


def finish_flows(frame: pl.DataFrame | pl.LazyFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shared tail of every Squid variant: host/port from the URL, action, evidence columns.
    Returns (flows, ``line_no``/``reason`` of lines whose client address, URL scheme or host
    cannot be right: rejects, not flows).

    Expects columns ``time``, ``src_ip``, ``code``, ``status``, ``hier``, ``peer``, ``method``,
    ``url``, ``user``, ``bytes``, ``line_no`` and optionally ``_extra`` (a struct for ``extra``).
    ``action``, ``vendor_action``, ``dst_ip`` and ``extra``, where the frame has them already
    (the native parser derives them once per distinct value), are kept.
    """
    frame = frame.lazy()
    schema = frame.collect_schema()
    if "action" not in schema:
        frame = frame.with_columns(_decision(pl.col("code"), pl.col("status"), pl.col("hier"), pl.col("peer")))
    if "extra" not in schema and "_extra" in schema:
        frame = frame.with_columns(pl.col("_extra").struct.json_encode().alias("extra"))
    out = _with_url(frame).with_columns(
        pl.when(pl.col("method") != "-").then(pl.col("method")).alias("method"),
        pl.when(pl.col("user") != "-").then(pl.col("user")).alias("user"),
        pl.lit("tcp").alias("protocol"),
        pl.lit("log").alias("host_source"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
    )
    both = pl.concat([conform_flows(out), out.select("_head_reason")], how="horizontal").collect(engine="in-memory")
    clients = both["src_ip"].drop_nulls().unique()
    bad_clients = clients.filter(~clients.str.contains(IP_ADDRESS))
    reason = pl.col("_head_reason")
    if bad_clients.len():
        wrong = pl.col("src_ip").is_in(bad_clients.implode())
        reason = pl.when(wrong).then(pl.format("client address '{}' is not an IP address", shown(pl.col("src_ip"))))
        reason = reason.otherwise(pl.col("_head_reason"))
    both = both.with_columns(reason.alias("_head_reason"))
    bad = both["_head_reason"].is_not_null()
    if not bad.any():
        return both.drop("_head_reason"), _NO_REASONS
    rejected = both.filter(bad).select("line_no", pl.col("_head_reason").alias("reason"))
    return both.filter(~bad).drop("_head_reason"), rejected


_NO_REASONS = pl.DataFrame(schema={"line_no": pl.Int64, "reason": pl.String})
_SCHEME = r"^[a-z][a-z0-9+.-]*$"
HOST_RULE = "labels of 1 to 63 characters, 253 characters at most"


def rejects_of(bad: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``bad`` (``line_no``/``reason``, from :func:`finish_flows`) with each line's ``text``."""
    return bad.join(lines.select("line_no", "text"), on="line_no", how="left")
