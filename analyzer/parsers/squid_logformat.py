"""Custom Squid ``logformat`` definitions compiled into vectorized parsers.

A definition is what follows ``logformat NAME`` in squid.conf: ``%`` codes with optional
modifiers (``"`` ``[`` ``#`` ``'`` quoting, ``-`` left alignment, a width such as ``6`` or
``03``, ``.precision``, an ``{argument}``) and literal text between them. It is compiled once
into one regular expression with a named group per code, applied with polars
``str.extract_groups`` to the whole chunk; the groups are then mapped to flow fields.

Codes that name a flow field (time, client, result, status, bytes, method, URL, user,
hierarchy, peer, ports) fill it; ``%tr``, ``%mt``, ``%rv``, header codes (``%{User-Agent}>h``)
and other known codes land in ``extra``. Codes the analyzer does not know (Squid keeps adding
them: ``%ssl::>sni``, ``%note``...) are accepted and matched as one token, then dropped.

Several definitions may be given, one per line (a site that changed its ``logformat`` keeps
old and new lines in one file); each line is read with the first definition it matches. A line
may also be pasted whole from squid.conf: ``logformat NAME ...``. The names of the built-in
formats (``squid``, ``common``, ``combined``) are handled by the Squid parser itself.

Example::

    compiled = compile_definition('%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %rm %ru %un %Sh/%<a %mt')
    compiled.regex  # '^(?P<g0>\\d+)\\.(?P<g1>\\d+) *(?P<g2>-?\\d+|-) ...$'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from ..errors import AnalyzerError

BUILTIN_NAMES = ("squid", "common", "combined")
"""Definitions that name Squid's built-in formats rather than spell one out."""

# Known codes, longest first so ``%>Hs`` is not read as ``%>h`` followed by "s". From
# squid's cf.data.pre (logformat); ``::`` families (ssl::, icap::, adapt::) are matched below.
_KNOWN_CODES = sorted(
    """
    >a >A >p <a <A <p la lp <la <lp >la >lp sn >qos >nfmark <qos <nfmark >handshake >eui >rd >rP >rp >rs >rm >ru
    >rv <rm <ru <rv rm ru rp rs rd rP rv rG ts tu tl tg tr tt dt tS busy_time <pt <tt <tS >Hs <Hs Hs Ss Sh
    <st >st st <sh >sh sh <bs >bs un ul ue ui us uq mt ea et err_code err_detail master_xaction >h <h >ha
    note cert_subject cert_issuer credentials ssl::bump_mode ssl::>sni ssl::>cert_subject ssl::>cert_issuer
    ssl::<cert_subject ssl::<cert_issuer ssl::<cert_errors ssl::>negotiated_version ssl::<negotiated_version
    ssl::>received_hello_version ssl::<received_hello_version ssl::>received_supported_version
    ssl::<received_supported_version ssl::>negotiated_cipher ssl::<negotiated_cipher ssl::<cert
    ssl::>cert icap::tt icap::<last_h icap::<A icap::<service_name icap::ru icap::rm icap::>st icap::<st
    icap::<bs icap::tr icap::tio icap::to icap::Hs icap::>h icap::<h adapt::all_trs adapt::sum_trs
    adapt::<last_h proxy_protocol::>h transport::>connection_id
    """.split(),  # noqa: SIM905 - a word list reads better than 120 quoted strings
    key=len,
    reverse=True,
)
_UNKNOWN_CODE = re.compile(r"(?:[a-z_]+::)?[<>]?[A-Za-z_][A-Za-z0-9_]*")
_MODIFIERS = re.compile(r"""(?P<quote>["\[#'/]?)(?P<left>-?)(?P<zero>0?)(?P<width>\d*)(?:\.(?P<prec>\d+))?""")

# What each code's value looks like in a line; codes not listed are one token (or any text
# between quotes when the definition quotes them).
_NUMBER = r"-?\d+(?:\.\d+)?|-"
_PATTERNS = {
    "ts": r"\d+",
    "tu": r"\d+",
    "tS": r"\d+(?:\.\d+)?",
    "Ss": r"[A-Z][A-Z0-9_]*|-",
    "Sh": r"[A-Z][A-Z0-9_]*|-",
}
_NUMERIC = {
    "tr",
    "tt",
    "dt",
    "<pt",
    "<tt",
    ">p",
    "<p",
    "lp",
    "<lp",
    ">lp",
    ">Hs",
    "<Hs",
    "Hs",
    "<st",
    ">st",
    "st",
    "<sh",
    ">sh",
    "sh",
    "<bs",
    ">bs",
    "busy_time",
}
# Codes whose values may contain spaces when not quoted (Squid does not escape them).
# Other free-text codes (%ea, %note) stay one token: allowing spaces in several fields of one
# line would make the match ambiguous.
_SPACEY = {"un", "ul", "ue", "ui", "us", "uq", ">h", "<h", ">ha"}

# Codes read into flow fields; the first code of each list that the definition has wins.
_FIELD_CODES = {
    "src_ip": (">a", ">A"),
    "src_port": (">p",),
    "code": ("Ss",),
    "status": (">Hs", "Hs", "<Hs"),
    "bytes": ("<st", "st"),
    "method": ("rm", ">rm"),
    "url": ("ru", ">ru"),
    "hier": ("Sh",),
    "peer": ("<a", "<A"),
}
_USER_CODES = ("un", "ul", "ue", "ui", "us", "uq")
# Codes kept in ``extra`` under these names.
_EXTRA_NAMES = {
    "tr": "elapsed_ms",
    "mt": "mime_type",
    "rv": "http_version",
    ">rv": "http_version",
    "Sh": "hierarchy",
    "<a": "peer",
    "<A": "server_host",
    ">A": "client_host",
    "<p": "server_port",
    ">st": "bytes_from_client",
    "<sh": "reply_header_bytes",
    ">sh": "request_header_bytes",
    "<bs": "reply_body_bytes",
    "<pt": "peer_response_ms",
    "<tt": "peer_total_ms",
    "la": "local_ip",
    "lp": "local_port",
    "ea": "external_acl_log",
    "et": "external_acl_tag",
    "err_code": "error_code",
    "err_detail": "error_detail",
    "<Hs": "peer_status",
}


@dataclass(frozen=True)
class Code:
    """One ``%`` code of a definition: the code, its ``{argument}`` and its modifiers."""

    code: str
    arg: str | None
    quote: str
    width: int | None
    left: bool
    known: bool
    group: str

    @property
    def header_field(self) -> str | None:
        """The ``extra`` name of a header code: ``%{User-Agent}>h`` → ``user_agent``."""
        if self.code in (">h", "<h") and self.arg:
            name = re.sub(r"[^a-z0-9]+", "_", self.arg.split(":")[0].lower()).strip("_")
            return name if self.code == ">h" else f"reply_{name}"
        return None


@dataclass(frozen=True)
class CompiledFormat:
    """A definition compiled into a regex; ``codes`` in the order of their groups."""

    definition: str
    regex: str
    codes: tuple[Code, ...]

    def first(self, *names: str) -> Code | None:
        for name in names:
            for c in self.codes:
                if c.code == name:
                    return c
        return None


def _error(definition: str, pos: int, what: str) -> AnalyzerError:
    return AnalyzerError(f"squid logformat {definition!r}: {what} at position {pos + 1}")


def _strftime_regex(fmt: str, definition: str, pos: int) -> str:
    pieces = {
        "d": r"\d{2}",
        "e": r" ?\d{1,2}",
        "m": r"\d{2}",
        "b": r"[A-Za-z]{3}",
        "h": r"[A-Za-z]{3}",
        "B": r"[A-Za-z]+",
        "a": r"[A-Za-z]{3}",
        "A": r"[A-Za-z]+",
        "Y": r"\d{4}",
        "y": r"\d{2}",
        "H": r"\d{2}",
        "M": r"\d{2}",
        "S": r"\d{2}",
        "j": r"\d{3}",
        "z": r"[+-]\d{4}",
        "Z": r"[A-Za-z]+",
        "T": r"\d{2}:\d{2}:\d{2}",
        "F": r"\d{4}-\d{2}-\d{2}",
        "%": "%",
    }
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in pieces:
                raise _error(definition, pos, f"time format {fmt!r} uses an unsupported directive")
            out.append(pieces[fmt[i + 1]])
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


_DEFAULT_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


def _tokens(definition: str) -> list[tuple[str, object, int]]:
    """Split a definition into ("lit", text, pos) and ("code", Code-parts, pos) pieces."""
    out: list[tuple[str, object, int]] = []
    i, lit_start, n = 0, 0, len(definition)
    literal: list[str] = []
    while i < n:
        ch = definition[i]
        if ch == "\\" and i + 1 < n:  # squid.conf escapes inside quoted definitions
            literal.append({"t": "\t", "n": "\n"}.get(definition[i + 1], definition[i + 1]))
            i += 2
            continue
        if ch != "%":
            literal.append(ch)
            i += 1
            continue
        start = i
        i += 1
        if i < n and definition[i] == "%":
            literal.append("%")
            i += 1
            continue
        if literal:
            out.append(("lit", "".join(literal), lit_start))
            literal = []
        m = _MODIFIERS.match(definition, i)
        i = m.end()
        arg = None
        if i < n and definition[i] == "{":
            close = definition.find("}", i)
            if close < 0:
                raise _error(definition, i, "'{' without '}'")
            arg = definition[i + 1 : close]
            i = close + 1
        code = next((c for c in _KNOWN_CODES if definition.startswith(c, i)), None)
        known = code is not None
        if code is None:
            um = _UNKNOWN_CODE.match(definition, i)
            if not um:
                what = "'%' at the end" if i >= n else f"no format code after '%' (found {definition[i]!r})"
                raise _error(definition, start if i >= n else i, what)
            code = um.group(0)
        i += len(code)
        parts = {
            "code": code,
            "arg": arg,
            "quote": m.group("quote"),
            "width": int(m.group("width")) if m.group("width") else None,
            "zero": bool(m.group("zero")),
            "left": bool(m.group("left")),
            "known": known,
        }
        out.append(("code", parts, start))
        lit_start = i
    if literal:
        out.append(("lit", "".join(literal), lit_start))
    return out


def _value_regex(code: str, arg: str | None, quoted: bool, definition: str, pos: int) -> str:
    if quoted:
        return r'(?:[^"\\]|\\.)*'
    if code in ("tl", "tg"):
        return _strftime_regex(arg or _DEFAULT_TIME_FORMAT, definition, pos)
    if code in _PATTERNS:
        return _PATTERNS[code]
    if code in _NUMERIC:
        return _NUMBER
    if code in _SPACEY:
        return r".*?"
    return r"\S*"


@lru_cache(maxsize=64)
def compile_definition(definition: str) -> CompiledFormat:
    """Compile one logformat definition; an :class:`AnalyzerError` names the definition and the
    position of what cannot be read.

    Example: ``compile_definition('%ts.%03tu %>a %Ss/%03>Hs %rm %ru').regex``.
    """
    text = definition.strip()
    m = re.match(r"^logformat\s+\S+\s+", text)
    if m:
        text = text[m.end() :]
    if not text:
        raise AnalyzerError("squid logformat is empty: give a definition such as '%ts.%03tu %6tr %>a ...'")
    pieces = _tokens(text)
    regex: list[str] = ["^"]
    codes: list[Code] = []
    for k, (kind, value, pos) in enumerate(pieces):
        if kind == "lit":
            # A run of spaces in the definition matches one or more spaces: Squid pads values.
            regex.append(" +".join(re.escape(part) for part in re.split(r" +", value)))
            continue
        parts = dict(value)  # type: ignore[arg-type]
        before = pieces[k - 1][1] if k > 0 and pieces[k - 1][0] == "lit" else ""
        after = pieces[k + 1][1] if k + 1 < len(pieces) and pieces[k + 1][0] == "lit" else ""
        between_quotes = str(before).endswith('"') and str(after).startswith('"')
        value_re = _value_regex(parts["code"], parts["arg"], between_quotes, text, pos)
        if parts["quote"] == '"' and not between_quotes:
            value_re = rf'"(?:[^"\\]|\\.)*"|{value_re}'
        group = f"g{len(codes)}"
        pad_before = " *" if parts["width"] and not parts["left"] else ""
        pad_after = " *" if parts["width"] and parts["left"] else ""
        regex.append(f"{pad_before}(?P<{group}>{value_re}){pad_after}")
        codes.append(
            Code(
                code=parts["code"],
                arg=parts["arg"],
                quote=parts["quote"],
                width=parts["width"],
                left=parts["left"],
                known=parts["known"],
                group=group,
            )
        )
    regex.append(r"\s*$")
    compiled = CompiledFormat(definition=text, regex="".join(regex), codes=tuple(codes))
    _check_usable(compiled)
    return compiled


def _check_usable(c: CompiledFormat) -> None:
    """A definition must give at least a time, a client and a destination to make flows."""
    if not c.first("ts", "tl", "tg", "tS"):
        raise AnalyzerError(f"squid logformat {c.definition!r}: no time code (%ts, %tl, %tg): flows need a time")
    if not c.first(">a", ">A"):
        raise AnalyzerError(f"squid logformat {c.definition!r}: no client code (%>a): flows need a source")
    if not c.first("ru", ">ru", ">rd") and not any(x.header_field == "host" for x in c.codes):
        raise AnalyzerError(
            f"squid logformat {c.definition!r}: no URL code (%ru, %>rd or %{{Host}}>h): flows need a destination"
        )


def split_definitions(definition: str) -> list[str]:
    """The definitions in ``definition``: one per non-empty line, ``#`` comments ignored."""
    return [ln.strip() for ln in definition.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def builtin_and_custom(definition: str) -> tuple[bool, str]:
    """Whether ``definition`` lists a built-in name (``squid``, ``common``, ``combined``, alone
    on its line or as ``logformat squid``) among its definitions, and the other definitions.

    Built-in formats are read by the built-in reader (more lenient than their spelled-out
    definitions, with odd lines such as ``NONE/0.0`` requests); the others read what it rejects.
    Example: ``builtin_and_custom("squid\n%ts.%03tu %>a ...")`` is ``(True, "%ts.%03tu %>a ...")``.
    """
    builtin, custom = False, []
    for line in split_definitions(definition):
        name = re.sub(r"^logformat\s+", "", line)
        if name in BUILTIN_NAMES:
            builtin = True
        else:
            custom.append(line)
    return builtin, "\n".join(custom)


def compile_all(definition: str) -> list[CompiledFormat]:
    """Compile every definition of ``definition`` (one per line)."""
    defs = split_definitions(definition)
    if not defs:
        raise AnalyzerError("squid logformat is empty: give a definition such as '%ts.%03tu %6tr %>a ...'")
    return [compile_definition(d) for d in defs]


def _unquote(expr: pl.Expr, code: Code) -> pl.Expr:
    if code.quote == '"':
        expr = expr.str.strip_prefix('"').str.strip_suffix('"')
    return pl.when(expr != "-").then(expr)


def _time_expr(c: CompiledFormat, tz: str) -> pl.Expr:
    ts, tu, ts_float = c.first("ts"), c.first("tu"), c.first("tS")
    if ts is not None:
        micros = pl.col(ts.group).cast(pl.Int64, strict=False) * 1_000_000
        if tu is not None:
            # %tu is milliseconds, %03tu zero-padded; without padding "7" still means 7 ms.
            micros = micros + pl.col(tu.group).cast(pl.Int64, strict=False) * 1000
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if ts_float is not None:
        micros = (pl.col(ts_float.group).cast(pl.Float64, strict=False) * 1e6).round().cast(pl.Int64, strict=False)
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    code = c.first("tl", "tg")
    fmt = code.arg or _DEFAULT_TIME_FORMAT
    parsed = pl.col(code.group).str.to_datetime(fmt, strict=False, time_unit="us")
    if "%z" in fmt:
        return parsed.dt.convert_time_zone("UTC")
    zone = "UTC" if code.code == "tg" else tz
    return parsed.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


def _flow_frame(g: pl.DataFrame, c: CompiledFormat, tz: str) -> pl.DataFrame:
    """Matched groups of one definition to the columns ``squid.finish_flows`` expects."""

    def col(*names: str, dtype=None) -> pl.Expr:
        code = c.first(*names)
        if code is None:
            return pl.lit(None, dtype=dtype or pl.String)
        expr = pl.col(code.group)
        if dtype is not None:
            return expr.cast(dtype, strict=False)
        return expr

    users = [_unquote(pl.col(x.group), x) for x in c.codes if x.code in _USER_CODES]
    user = pl.coalesce(users) if users else pl.lit(None, pl.String)
    url = col(*_FIELD_CODES["url"])
    if c.first(*_FIELD_CODES["url"]) is None:
        host = c.first(">rd") or next(x for x in c.codes if x.header_field == "host")
        path = col("rp", ">rp")
        method_code = c.first(*_FIELD_CODES["method"])
        is_connect = pl.col(method_code.group) == "CONNECT" if method_code else pl.lit(False)
        scheme = col(">rP", "rP").str.to_lowercase().fill_null("http")
        url = (
            pl.when(is_connect)
            .then(pl.col(host.group))
            .otherwise(scheme + "://" + pl.col(host.group) + path.fill_null("/"))
        )
    extra = {}
    for x in c.codes:
        name = x.header_field or (_EXTRA_NAMES.get(x.code) if x.known else None)
        if name and name not in extra:
            value = _unquote(pl.col(x.group), x)
            extra[name] = (value.cast(pl.Int64, strict=False) if x.code in _NUMERIC else value).alias(name)
    peer = col(*_FIELD_CODES["peer"])
    extra_col = [pl.struct(list(extra.values())).alias("_extra")] if extra else []
    return g.select(
        "line_no",
        _time_expr(c, tz).alias("time"),
        col(*_FIELD_CODES["src_ip"]).alias("src_ip"),
        col(">p", dtype=pl.Int32).alias("src_port"),
        col("Ss").alias("code"),
        col(*_FIELD_CODES["status"], dtype=pl.Int32).alias("status"),
        col(*_FIELD_CODES["bytes"], dtype=pl.Int64).alias("bytes"),
        col(*_FIELD_CODES["method"]).fill_null("-").alias("method"),
        url.alias("url"),
        user.fill_null("-").alias("user"),
        col("Sh").fill_null("-").alias("hier"),
        peer.fill_null("-").alias("peer"),
        *extra_col,
    )


def parse(lines: pl.DataFrame, ctx, definition: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse ``lines`` (``line_no``, ``text``) with a custom logformat ``definition``.

    Returns (flows, bad lines with a ``reason`` column). Each line is read with the first of
    the definitions (one per line of ``definition``) that it matches.
    Example: ``parse(lines, ParseContext("a.log"), "%ts.%03tu %>a %Ss/%03>Hs %<st %rm %ru")``.
    """
    from .squid import finish_flows, rejects_of  # squid imports this module: import at call time

    compiled = compile_all(definition)
    remaining = lines
    flows: list[pl.DataFrame] = []
    bad_time: list[pl.DataFrame] = []
    wrong: list[pl.DataFrame] = []
    for c in compiled:
        if not remaining.height:
            break
        g = remaining.with_columns(pl.col("text").str.extract_groups(c.regex).alias("_g")).unnest("_g")
        hit = pl.col(c.codes[0].group).is_not_null()
        frame = _flow_frame(g.filter(hit), c, ctx.options.tz)
        no_time = frame.filter(pl.col("time").is_null())
        if no_time.height:
            bad_time.append(remaining.join(no_time.select("line_no"), on="line_no", how="semi"))
            frame = frame.filter(pl.col("time").is_not_null())
        if frame.height:
            good, bad_values = finish_flows(frame, ctx)
            flows.append(good)
            wrong.append(rejects_of(bad_values, lines))
        remaining = g.filter(~hit).select("line_no", "text")
    which = "the logformat" if len(compiled) == 1 else f"any of the {len(compiled)} logformats"
    bad = [remaining.with_columns(pl.lit(f"does not match {which} given (--squid-logformat)").alias("reason"))]
    bad += [b.with_columns(pl.lit("time field cannot be read as a time").alias("reason")) for b in bad_time]
    bad += [w.select("line_no", "text", "reason") for w in wrong]
    bad_frame = pl.concat(bad).sort("line_no")
    if flows:
        return pl.concat(flows).sort("line_no"), bad_frame
    from ..schema import empty_flows

    return empty_flows(), bad_frame


def count_matches(lines: list[str], definition: str) -> int:
    """How many of ``lines`` match one of the definitions (for sniffing a file's head)."""
    if not lines:
        return 0
    series = pl.Series(lines, dtype=pl.String)
    hit = pl.Series([False] * len(lines))
    for c in compile_all(definition):
        hit = hit | series.str.contains(c.regex)
    return int(hit.sum())
