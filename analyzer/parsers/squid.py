"""Squid access.log: the native format, ``common`` and ``combined``, and custom logformats.

The native format is what Squid writes by default (``src/log/FormatSquidNative.cc``)::

    %9ld.%03d %6ld %s %s/%03d %lld %s %s %s %s%s/%s %s

Fields are space separated but padded, and the user name may itself contain spaces (Squid does
not escape them), so a line is read as seven tokens from the left, ``hierarchy/peer`` and the MIME
type from the right, and the user in between. The optional ``log_mime_hdrs`` suffix
``[request headers] [reply headers]`` is cut off first.

Parsing is vectorized: padding is collapsed with literal replaces, tokens come from ``splitn``,
and URLs are parsed once per distinct authority and joined back.
"""

from __future__ import annotations

import re

import polars as pl

from ..schema import conform_flows
from . import squid_logformat
from .base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame

NAME = "squid"

# Shapes used to sniff and to tell a reject's reason.
_NATIVE_HEAD = re.compile(r"^\s*\d{9,10}(?:\.\d{1,3})?\s+-?\d+\s+\S+\s+[A-Z][A-Z0-9_]*/\d{1,3}\s+-?\d+\s+\S+\s+\S+")
_COMMON_RE = (
    r"^(?P<client>\S+) (?P<ident>\S+) (?P<user>.+?) \[(?P<tl>[^\]]+)\] "
    r'"(?P<method>\S+) (?P<url>\S+)(?: (?P<proto>[^"]*))?" '
    r"(?P<status>\d{1,3}) (?P<bytes>-?\d+|-)"
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<ua>(?:[^"\\]|\\.)*)")? '
    r"(?P<code>[A-Z][A-Z0-9_]*):(?P<hier>[A-Z][A-Z0-9_]*)\s*$"
)
_COMMON_HEAD = re.compile(_COMMON_RE)
_CACHE_LOG = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:\s+kid\d+\||\s*\|)"
_EPOCH_START = re.compile(r"^\s*\d{9,10}(?:\.\d+)?\s")
_HEADERS_SUFFIX = r"\s+(\[[^\]]*\])\s+(\[[^\]]*\])\s*$"

# Hierarchy codes whose peer is the origin server itself, so the peer address is the
# destination's address (and evidence tying the URL's host to it).
DIRECT_HIERARCHY = ("HIER_DIRECT", "DIRECT", "ORIGINAL_DST", "CLOSEST_DIRECT", "TIMEOUT_HIER_DIRECT", "TIMEOUT_DIRECT")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_IP_LIKE = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$"


def action_expr(code: pl.Expr, status: pl.Expr, hier: pl.Expr) -> pl.Expr:
    """Normalized action from Squid's result code, HTTP status and hierarchy code.

    ``TCP_DENIED``/``NONE_NONE``-403/``TCP_DENIED_REPLY`` are policy blocks; 407 is a proxy
    authentication challenge; ``/000`` and ``_ABORTED`` transfers and 5xx answered over a
    direct connection failed beyond the proxy; everything else passed.
    """
    denied = code.str.contains("DENIED") | (code.is_in(["NONE_NONE", "TAG_NONE", "NONE"]) & (status == 403))
    return (
        pl.when(denied & (status == 407))
        .then(pl.lit("auth-required"))
        .when(denied)
        .then(pl.lit("blocked"))
        .when(
            (status == 0)
            | code.str.ends_with("_ABORTED")
            | ((status >= 500) & hier.str.strip_prefix("TIMEOUT_").is_in(DIRECT_HIERARCHY))
        )
        .then(pl.lit("failed"))
        .otherwise(pl.lit("allowed"))
    )


def url_columns(url: pl.Expr, method: pl.Expr) -> list[pl.Expr]:
    """Scheme, authority and path of a Squid ``%ru`` (URL, or ``host:port`` for CONNECT)."""
    has_scheme = url.str.contains("://", literal=True)
    after = url.str.splitn("://", 2)
    rest = pl.when(has_scheme).then(after.struct.field("field_1")).otherwise(url)
    scheme = (
        pl.when(has_scheme)
        .then(after.struct.field("field_0").str.to_lowercase())
        .when(method == "CONNECT")
        .then(pl.lit("https"))
        .otherwise(pl.lit(None, pl.String))
    )
    # An authority is what precedes the first '/' (or '?'); URLs like "error:invalid-request"
    # or a bare "/favicon.ico" have none.
    is_authority = has_scheme | (method == "CONNECT")
    slash = rest.str.find(r"[/?#]")
    authority = pl.when(is_authority).then(pl.when(slash.is_null()).then(rest).otherwise(rest.str.slice(0, slash)))
    path = pl.when(has_scheme).then(pl.when(slash.is_null()).then(pl.lit("/")).otherwise(rest.str.slice(slash)))
    return [scheme.alias("scheme"), authority.alias("_authority"), path.alias("url_path")]


def split_authorities(frame: pl.DataFrame) -> pl.DataFrame:
    """Join ``dst_host``/``_auth_port`` parsed once per distinct ``_authority`` back onto frame."""
    auth = frame.select(pl.col("_authority").unique()).drop_nulls()
    parts = auth.with_columns(
        pl.col("_authority")
        .str.replace(r"^[^@]*@", "")
        .str.extract_groups(r"^(?:\[(?P<v6>[^\]]*)\]|(?P<h>[^:]*|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*))(?::(?P<p>\d{1,5}))?$")
        .alias("_g")
    ).select(
        "_authority",
        pl.coalesce(pl.col("_g").struct.field("v6"), pl.col("_g").struct.field("h"))
        .str.to_lowercase()
        .str.strip_suffix(".")
        .alias("dst_host"),
        pl.col("_g").struct.field("p").cast(pl.Int32, strict=False).alias("_auth_port"),
    )
    return frame.join(parts, on="_authority", how="left", maintain_order="left")


def finish_flows(frame: pl.DataFrame | pl.LazyFrame, ctx: ParseContext) -> pl.DataFrame:
    """Shared tail of every Squid variant: host/port from the URL, action, evidence columns.

    Expects columns ``time``, ``src_ip``, ``code``, ``status``, ``hier``, ``peer``, ``method``,
    ``url``, ``user``, ``bytes``, ``line_no`` and optionally ``_extra`` (a struct for ``extra``).
    Runs as one lazy query: the engine spreads the string work over the cores.
    """
    frame = frame.lazy().with_columns(url_columns(pl.col("url"), pl.col("method")))
    frame = split_authorities(frame)
    peer_is_ip = pl.col("peer").str.contains(_IP_LIKE)
    direct = pl.col("hier").str.strip_prefix("TIMEOUT_").is_in(DIRECT_HIERARCHY)
    default_port = pl.col("scheme").replace_strict(_DEFAULT_PORTS, default=None, return_dtype=pl.Int32)
    out = frame.with_columns(
        pl.coalesce(pl.col("_auth_port"), default_port).alias("dst_port"),
        pl.when(direct & peer_is_ip).then(pl.col("peer")).alias("dst_ip"),
        pl.when(pl.col("dst_host") != "").then(pl.col("dst_host")).alias("dst_host"),
        action_expr(pl.col("code"), pl.col("status"), pl.col("hier")).alias("action"),
        (pl.col("code") + "/" + pl.col("status").cast(pl.String).str.zfill(3)).alias("vendor_action"),
        pl.when(pl.col("method") != "-").then(pl.col("method")).alias("method"),
        pl.when(pl.col("user") != "-").then(pl.col("user")).alias("user"),
        pl.lit("tcp").alias("protocol"),
        pl.lit("log").alias("host_source"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
    )
    if "_extra" in out.collect_schema():
        out = out.with_columns(pl.col("_extra").struct.json_encode().alias("extra"))
    return conform_flows(out).collect()


def _parse_native(tok: pl.DataFrame, ctx: ParseContext) -> pl.DataFrame:
    """Native lines (already validated) to flows. ``tok`` holds the token columns."""
    frame = tok.lazy().select(
        "line_no",
        (pl.col("ts").cast(pl.Float64).mul(1000).round().cast(pl.Int64).mul(1000))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("time"),
        pl.col("client").alias("src_ip"),
        pl.col("code"),
        pl.col("status"),
        pl.col("bytes"),
        pl.col("method"),
        pl.col("url"),
        pl.col("user"),
        pl.col("hier"),
        pl.col("peer"),
        pl.struct(
            pl.col("elapsed").alias("elapsed_ms"),
            pl.col("hier").alias("hierarchy"),
            pl.col("peer"),
            pl.col("mime").alias("mime_type"),
            *([pl.col("req_headers"), pl.col("reply_headers")] if "req_headers" in tok.columns else []),
        ).alias("_extra"),
    )
    return finish_flows(frame, ctx)


_NATIVE_FIELDS = ["ts", "elapsed", "client", "result", "bytes", "method", "url", "user", "hier_peer", "mime"]


def _split_tail(rest: pl.Expr) -> list[pl.Expr]:
    """user, hierarchy/peer and MIME type from what follows the URL, taking the last two tokens
    from the right so a user name may contain spaces. ``str.reverse`` is slow, so this runs only
    on the few lines that have more than ten tokens."""
    tail = rest.str.reverse().str.splitn(" ", 3)
    return [
        tail.struct.field("field_0").str.reverse().alias("mime"),
        tail.struct.field("field_1").str.reverse().alias("hier_peer"),
        tail.struct.field("field_2").str.reverse().alias("user"),
    ]


def _tokenize_native(lines: pl.DataFrame) -> pl.DataFrame:
    """Split native lines into named token columns, with ``ok`` telling the well-formed ones.

    Fast path: one ``splitn`` into ten tokens. Lines with more (a user name with spaces) are
    re-split from the right; lines with fewer fail ``ok``.
    """
    text = lines["text"]
    cols = {"line_no": lines["line_no"]}
    if text.str.ends_with("]").any():
        hdr = text.str.extract_groups(_HEADERS_SUFFIX)
        cols["req_headers"] = hdr.struct.field("1")
        cols["reply_headers"] = hdr.struct.field("2")
        text = text.str.replace(_HEADERS_SUFFIX, "")
    if text.str.contains("\t", literal=True).any():
        text = text.str.replace_all("\t", " ", literal=True)
    # Lazy, so the engine splits the rows over the cores; a regex matching only runs of two or
    # more spaces is fast (the engine skips ahead to the rare double space).
    frame = (
        pl.LazyFrame({**cols, "text": lines["text"], "_norm": text})
        .with_columns(pl.col("_norm").str.replace_all(r"  +", " ").str.strip_chars(" "))
        .with_columns(pl.col("_norm").str.splitn(" ", 11).struct.rename_fields([*_NATIVE_FIELDS, "_more"]).alias("_h"))
        .unnest("_h")
        .collect()
    )
    more = frame["_more"].is_not_null()
    if more.any():
        rest = frame.filter(more)["_norm"].str.splitn(" ", 8).struct.field("field_7")
        fixed = frame.filter(more).with_columns(rest.alias("_rest")).with_columns(_split_tail(pl.col("_rest")))
        frame = pl.concat([frame.filter(~more), fixed.drop("_rest")]).sort("line_no")
    res = pl.col("result").str.splitn("/", 2)
    hp = pl.col("hier_peer").str.splitn("/", 2)
    frame = frame.lazy().with_columns(
        hp.struct.field("field_0").alias("hier"),
        hp.struct.field("field_1").alias("peer"),
        res.struct.field("field_0").alias("code"),
        res.struct.field("field_1").cast(pl.Int32, strict=False).alias("status"),
        pl.col("bytes").cast(pl.Int64, strict=False),
        pl.col("elapsed").cast(pl.Int64, strict=False),
    )
    ok = (
        pl.col("ts").str.contains(r"^\d{9,10}(?:\.\d{1,6})?$")
        & pl.col("elapsed").is_not_null()
        & pl.col("status").is_not_null()
        & pl.col("code").str.contains(r"^[A-Z][A-Z0-9_]*$")
        & pl.col("bytes").is_not_null()
        & pl.col("mime").is_not_null()
        & pl.col("peer").is_not_null()
        & pl.col("hier").str.contains(r"^[A-Z][A-Z0-9_]*$")
    )
    return frame.with_columns(ok.fill_null(False).alias("ok")).drop("_norm", "_more").collect()


def _parse_common(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``common``/``combined`` lines to flows; returns (flows, lines that did not match)."""
    g = lines.with_columns(pl.col("text").str.extract_groups(_COMMON_RE).alias("g")).unnest("g")
    matched = g.filter(pl.col("client").is_not_null())
    frame = matched.select(
        "line_no",
        pl.col("tl").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False).dt.convert_time_zone("UTC").alias("time"),
        pl.col("client").alias("src_ip"),
        pl.col("code"),
        pl.col("status").cast(pl.Int32),
        pl.col("bytes").cast(pl.Int64, strict=False),
        pl.col("method"),
        pl.col("url"),
        pl.col("user"),
        pl.col("hier"),
        pl.lit("-").alias("peer"),
        pl.struct(
            pl.col("hier").alias("hierarchy"),
            pl.col("proto").alias("http_version"),
            pl.col("referer"),
            pl.col("ua").alias("user_agent"),
        ).alias("_extra"),
    )
    bad_time = frame.filter(pl.col("time").is_null())
    frame = frame.filter(pl.col("time").is_not_null())
    unmatched = g.filter(pl.col("client").is_null()).select("line_no", "text")
    unmatched = pl.concat([unmatched, lines.join(bad_time.select("line_no"), on="line_no", how="semi")])
    return finish_flows(frame, ctx), unmatched


def _reason(text: pl.Expr) -> pl.Expr:
    """Why a line is not a Squid access-log line, in words."""
    n_tokens = text.str.strip_chars().str.count_matches(r"\S+")
    return (
        pl.when(text.str.contains(_CACHE_LOG))
        .then(pl.lit("cache.log line, not an access-log line"))
        .when(text.str.contains(r"^\s*\d{9,10}(?:\.\d+)?\s") & (n_tokens < 10))
        .then(pl.lit("truncated native line: ") + n_tokens.cast(pl.String) + pl.lit(" fields, 10 expected"))
        .when(text.str.contains(r"^\s*\d{9,10}(?:\.\d+)?\s"))
        .then(pl.lit("fields do not have the native format's shape (custom logformat? pass --squid-logformat)"))
        .otherwise(pl.lit("not a Squid access-log line (native, common or combined)"))
    )


def _custom(options: ParseOptions) -> str | None:
    """The custom logformat definition to use, or None for the built-in formats (also when
    ``--squid-logformat`` names one of them: ``squid``, ``common``, ``combined``)."""
    fmt = (options.squid_logformat or "").strip()
    return fmt if fmt and fmt not in squid_logformat.BUILTIN_NAMES else None


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of Squid access.log lines into flows and rejects."""
    blank = lines["text"].str.strip_chars() == ""
    n_blank = int(blank.sum())
    lines = lines.filter(~blank)
    if _custom(ctx.options):
        flows, bad = squid_logformat.parse(lines, ctx, ctx.options.squid_logformat)
        rejects = reject_frame(bad, bad["reason"] if "reason" in bad.columns else "", ctx, NAME)
        return ParseOutput(flows, rejects, {"blank": n_blank} if n_blank else {})
    tok = _tokenize_native(lines)
    good = tok.filter(pl.col("ok"))
    flows = [_parse_native(good, ctx)] if good.height else []
    rest = tok.filter(~pl.col("ok")).select("line_no", "text")
    if rest.height:
        common, rest = _parse_common(rest, ctx)
        if common.height:
            flows.append(common)
    if len(flows) > 1:
        flows_frame = pl.concat(flows).sort("line_no")
    else:
        flows_frame = flows[0] if flows else conform_flows(pl.DataFrame())
    rejects = reject_frame(rest.sort("line_no"), _reason(pl.col("text")), ctx, NAME)
    return ParseOutput(flows_frame, rejects, {"blank": n_blank} if n_blank else {})


def sniff(head: list[str], options: ParseOptions) -> bool:
    """A Squid log when most of the first non-blank lines are native or common/combined lines
    (or match the given custom logformat)."""
    lines = [ln for ln in head if ln.strip()][:20]
    if not lines:
        return False
    if _custom(options):
        hits = squid_logformat.count_matches(lines, options.squid_logformat)
    else:
        hits = sum(1 for ln in lines if _NATIVE_HEAD.match(ln) or _COMMON_HEAD.match(ln))
    return hits * 2 >= len(lines)


def hint(head: list[str]) -> str | None:
    """Say how to read a Squid log in a custom logformat, which cannot be guessed."""
    lines = [ln for ln in head if ln.strip()][:20]
    starts = sum(1 for ln in lines if _EPOCH_START.match(ln))
    if lines and starts * 2 >= len(lines):
        return (
            "looks like a Squid access.log in a custom logformat: pass its definition from squid.conf, "
            "e.g. --squid-logformat '%ts.%03tu %6tr %>a %>p %Ss/%03>Hs ...'"
        )
    return None


PARSER = Parser(
    name=NAME,
    description="Squid access.log: native, common, combined, or a custom logformat (--squid-logformat)",
    sniff=sniff,
    parse=parse,
    hint=hint,
)
