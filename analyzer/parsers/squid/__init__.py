"""Squid access.log: the native format, ``common`` and ``combined``, and custom logformats.

The native format is what Squid writes by default (``src/log/FormatSquidNative.cc``)::

    %9ld.%03d %6ld %s %s/%03d %lld %s %s %s %s%s/%s %s

Fields are space separated but padded, and the user name may itself contain spaces (Squid does
not escape them), so a line is read as seven tokens from the left, ``hierarchy/peer`` and the MIME
type from the right, and the user in between. The optional ``log_mime_hdrs`` suffix
``[request headers] [reply headers]`` is cut off first.

Parsing is vectorized: lines are split on single spaces and the padding's empty tokens skipped;
what has few distinct values (result code and hierarchy, URL heads ``scheme://authority``) is
parsed once per distinct value and joined back.
"""

from __future__ import annotations

import re

import polars as pl

from ...flows import Evidence, conform_flows
from ..base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame
from . import custom
from .common import NAME, _decision, finish_flows, rejects_of
from .logformat import BUILTIN_NAMES, builtin_and_custom

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


def _parse_native(tok: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Native lines (already validated) to flows and bad values (see :func:`finish_flows`).
    ``tok`` holds the token columns and what :func:`_tail_table` derived from them."""
    if "req_headers" in tok.columns:
        extra = pl.struct(
            pl.col("elapsed").alias("elapsed_ms"),
            pl.col("hier").alias("hierarchy"),
            pl.col("peer"),
            pl.col("mime").alias("mime_type"),
            pl.col("req_headers"),
            pl.col("reply_headers"),
        ).struct.json_encode()
    else:
        # The same JSON as json_encode of the struct above, by concatenation: the hierarchy, peer
        # and MIME part was encoded once per distinct value.
        extra = pl.concat_str(pl.lit('{"elapsed_ms":'), pl.col("elapsed").cast(pl.String), pl.col("_json_tail"))
    frame = tok.lazy().select(
        "line_no",
        (pl.col("ts").cast(pl.Float64).mul(1000).round().cast(pl.Int64).mul(1000))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("time"),
        pl.col("client").alias("src_ip"),
        "status",
        "bytes",
        "method",
        "url",
        "user",
        "action",
        "vendor_action",
        "dst_ip",
        extra.alias("extra"),
    )
    return finish_flows(frame, ctx)


_NAME_RE = r"^[A-Z][A-Z0-9_]*$"
# Tokens after the elapsed time, from the left; the hierarchy/peer and MIME type are the last two.
_NATIVE_FIELDS = ("client", "result", "bytes", "method", "url", "user")


def _tail_table(keys: pl.DataFrame) -> pl.DataFrame:
    """What each distinct (``result``, ``hier_peer``, ``mime``) of native lines gives: code, status,
    hierarchy, peer, whether they are well-formed (``_tail_ok``), the decision, and the JSON of the
    ``extra`` keys after ``elapsed_ms`` (``_json_tail``)."""
    # Each split once, as a column (used twice in one step, it would be split twice): a log with
    # many next-hop addresses has tens of thousands of distinct keys.
    res, hp = pl.col("_res"), pl.col("_hp")
    parts = keys.with_columns(
        pl.col("result").str.splitn("/", 2).alias("_res"), pl.col("hier_peer").str.splitn("/", 2).alias("_hp")
    ).select(
        *keys.columns,
        res.struct.field("field_0").alias("code"),
        res.struct.field("field_1").cast(pl.Int32, strict=False).alias("status"),
        hp.struct.field("field_0").alias("hier"),
        hp.struct.field("field_1").alias("peer"),
    )
    ok = (
        pl.col("status").is_not_null()
        & pl.col("code").str.contains(_NAME_RE)
        & pl.col("mime").is_not_null()
        & pl.col("peer").is_not_null()
        & pl.col("hier").str.contains(_NAME_RE)
    )
    json = pl.struct(pl.col("hier").alias("hierarchy"), "peer", pl.col("mime").alias("mime_type")).struct.json_encode()
    return parts.with_columns(
        ok.fill_null(False).alias("_tail_ok"),
        *_decision(pl.col("code"), pl.col("status"), pl.col("hier"), pl.col("peer")),
        pl.concat_str(pl.lit(","), json.str.strip_prefix("{")).alias("_json_tail"),
    )


def _fields(ts: pl.Series, elapsed: pl.Series, after: pl.Series) -> pl.DataFrame:
    """Native fields from the time, the elapsed time and the list of tokens ``after`` them. The
    user name may contain spaces, so the hierarchy/peer and the MIME type are the last two tokens
    and the user is what lies between the URL and them."""
    n = after.list.len()
    frame = pl.DataFrame({"ts": ts, "elapsed": elapsed, "_t": after}).select(
        "ts",
        "elapsed",
        *(pl.col("_t").list.get(i, null_on_oob=True).alias(f) for i, f in enumerate(_NATIVE_FIELDS)),
        pl.col("_t").list.get(-2, null_on_oob=True).alias("hier_peer"),
        pl.when(n >= 8).then(pl.col("_t").list.get(-1, null_on_oob=True)).alias("mime"),
    )
    more = n > 8
    if more.any():
        rest = after.filter(more).to_frame("_t")
        user = rest.select(pl.col("_t").list.slice(5, pl.col("_t").list.len() - 7).list.join(" ")).to_series()
        frame = frame.with_columns(frame["user"].scatter(more.arg_true(), user))
    return frame


# Squid's layout: a 10-digit time with milliseconds, the elapsed time right-aligned in 6
# characters, one space, the client (``%9ld.%03d %6ld %s``).
_ALIGNED_HEAD = r"^[^ ]{14} +[^ ]+ [^ ]$"


def _split_native(text: pl.Series) -> pl.DataFrame:
    """The fields of native lines (see :func:`_fields`), as if runs of spaces were one space.

    Most lines have Squid's own layout, so the time and the padded elapsed time are cut at fixed
    places and only the rest is split; the others (other widths, runs of spaces elsewhere) have
    every run of spaces collapsed first.
    """
    after = text.str.slice(22).str.split(" ")
    aligned = (text.str.slice(0, 23).str.contains(_ALIGNED_HEAD) & (after.list.count_matches("") == 0)).fill_null(False)
    if not aligned.any():
        return _collapsed_fields(text)
    frame = _fields(text.str.slice(0, 14), text.str.slice(15, 6).str.strip_chars_start(" "), after)
    if not aligned.all():
        other = _collapsed_fields(text.filter(~aligned))
        idx = (~aligned).arg_true()
        frame = frame.with_columns(frame[c].scatter(idx, other[c]) for c in frame.columns)
    return frame


def _collapsed_fields(text: pl.Series) -> pl.DataFrame:
    """:func:`_fields` of lines whose runs of spaces are collapsed to one space first."""
    tokens = text.str.replace_all(r"  +", " ").str.strip_chars(" ").str.split(" ")
    return _fields(tokens.list.first(), tokens.list.get(1, null_on_oob=True), tokens.list.slice(2))


def _tokenize_native(lines: pl.DataFrame, headers: bool) -> pl.DataFrame:
    """Split native lines into named token columns, with ``ok`` telling the well-formed ones.
    ``headers``: cut off a ``log_mime_hdrs`` suffix (and give every line the header columns)."""
    text = lines["text"]
    cols = {"line_no": lines["line_no"], "text": text}
    if headers:
        hdr = text.str.extract_groups(_HEADERS_SUFFIX)
        cols["req_headers"] = hdr.struct.field("1")
        cols["reply_headers"] = hdr.struct.field("2")
        text = text.str.replace(_HEADERS_SUFFIX, "")
    if text.str.contains("\t", literal=True).any():
        text = text.str.replace_all("\t", " ", literal=True)
    frame = pl.concat([pl.DataFrame(cols), _split_native(text)], how="horizontal")
    tail = _tail_table(frame.select("result", "hier_peer", "mime").unique())
    frame = frame.join(tail, on=["result", "hier_peer", "mime"], how="left", maintain_order="left")
    frame = frame.with_columns(
        pl.col("bytes").cast(pl.Int64, strict=False),
        pl.col("elapsed").cast(pl.Int64, strict=False),
    )
    ok = (
        pl.col("ts").str.contains(r"^\d{1,10}(?:\.\d{1,6})?$")
        & pl.col("elapsed").is_not_null()
        & pl.col("bytes").is_not_null()
        & pl.col("_tail_ok")
    )
    return frame.with_columns(ok.fill_null(False).alias("ok"))


def _parse_common(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``common``/``combined`` lines to flows; returns (flows, lines that did not match, lines
    with a bad value and their reason: see :func:`finish_flows`)."""
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
    return *finish_flows(frame, ctx), unmatched


def _reason(text: pl.Expr) -> pl.Expr:
    """Why a line is not a Squid access-log line, in words."""
    n_tokens = text.str.strip_chars().str.count_matches(r"\S+")
    return (
        pl.when(text.str.contains(_CACHE_LOG))
        .then(pl.lit("cache.log line, not an access-log line"))
        .when(text.str.contains(r"^\s*\d{1,10}(?:\.\d+)?\s") & (n_tokens < 10))
        .then(pl.lit("truncated native line: ") + n_tokens.cast(pl.String) + pl.lit(" fields, 10 expected"))
        .when(text.str.contains(r"^\s*\d{1,10}(?:\.\d+)?\s"))
        .then(pl.lit("fields do not have the native format's shape (custom logformat? pass --squid-logformat)"))
        .otherwise(pl.lit("not a Squid access-log line (native, common or combined)"))
    )


def _custom(options: ParseOptions) -> str | None:
    """The custom logformat definition to use, or None for the built-in formats (also when
    ``--squid-logformat`` names one of them: ``squid``, ``common``, ``combined``)."""
    fmt = (options.squid_logformat or "").strip()
    return fmt if fmt and fmt not in BUILTIN_NAMES else None


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of Squid access.log lines into flows and rejects."""
    # A regex test allocates nothing, unlike stripping every line.
    blank = ~lines["text"].str.contains(r"\S")
    n_blank = int(blank.sum())
    if n_blank:
        lines = lines.filter(~blank)
    skipped = {"blank": n_blank} if n_blank else {}
    if wanted := _custom(ctx.options):
        builtin, definitions = builtin_and_custom(wanted)
        if not builtin:
            flows, bad = custom.parse(lines, ctx, definitions)
            rejects = reject_frame(bad, bad["reason"] if "reason" in bad.columns else "", ctx, NAME)
            return ParseOutput(flows, rejects, skipped)
        # A built-in name among custom definitions: the built-in reader first, the custom
        # definitions for the lines it rejects.
        flows, rejects = _parse_lines(lines, ctx, bool(lines["text"].str.ends_with("]").any()))
        if definitions and rejects.height:
            again = lines.filter(pl.col("line_no").is_in(rejects["line_no"].implode()))
            more, bad = custom.parse(again, ctx, definitions)
            flows = pl.concat([flows, more]).sort("line_no") if more.height else flows
            rejects = reject_frame(bad, bad["reason"] if "reason" in bad.columns else "", ctx, NAME)
        return ParseOutput(flows, rejects, skipped)
    # Whether ``extra`` has the header keys is decided for the whole chunk.
    headers = bool(lines["text"].str.ends_with("]").any())
    flows, rejects = _parse_lines(lines, ctx, headers)
    return ParseOutput(flows, rejects, skipped)


def _parse_lines(lines: pl.DataFrame, ctx: ParseContext, headers: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Non-blank lines in the built-in formats (native, common, combined) to (flows, rejects),
    both in line order. ``headers``: look for a ``log_mime_hdrs`` suffix."""
    tok = _tokenize_native(lines, headers)
    all_ok = bool(tok["ok"].all())
    good = tok if all_ok else tok.filter(pl.col("ok"))
    flows, bad = ([], [])
    if good.height:
        native, wrong = _parse_native(good, ctx)
        flows.append(native)
        bad.append(wrong)
    rest = tok.filter(~pl.col("ok")).select("line_no", "text")
    if rest.height:
        common, wrong, rest = _parse_common(rest, ctx)
        bad.append(wrong)
        if common.height:
            flows.append(common)
    if len(flows) > 1:
        flows_frame = pl.concat(flows).sort("line_no")
    else:
        flows_frame = flows[0] if flows else conform_flows(pl.DataFrame())
    rejects = reject_frame(rest, _reason(pl.col("text")), ctx, NAME)
    bad = [b for b in bad if b.height]
    if bad:
        wrong = reject_frame(rejects_of(pl.concat(bad), lines), pl.col("reason"), ctx, NAME)
        rejects = pl.concat([rejects, wrong])
    return flows_frame, rejects.sort("line_no")


def sniff(head: list[str], options: ParseOptions) -> bool:
    """A Squid log when most of the first non-blank lines are native or common/combined lines
    (or match the given custom logformat)."""
    lines = [ln for ln in head if ln.strip()][:20]
    if not lines:
        return False
    builtin, definitions = builtin_and_custom(_custom(options) or "squid")
    hits = sum(1 for ln in lines if _NATIVE_HEAD.match(ln) or _COMMON_HEAD.match(ln)) if builtin else 0
    if definitions:
        hits = max(hits, custom.count_matches(lines, definitions))
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
    concurrent_chunks=True,
    # HIER_DIRECT/ip: the proxy's next hop ties the host to its address.
    evidence=Evidence("proxy"),
)
