"""Squid lines in a custom ``logformat``: each line read with the first compiled definition
(:mod:`.logformat`) it matches, its groups mapped to flow fields, then the Squid flow tail
(:func:`.common.finish_flows`)."""

from __future__ import annotations

import polars as pl

from ...flows import empty_flows, local_to_utc
from .common import finish_flows, rejects_of
from .logformat import (
    _DEFAULT_TIME_FORMAT,
    _EXTRA_NAMES,
    _FIELD_CODES,
    _NUMERIC,
    _USER_CODES,
    Code,
    CompiledFormat,
    compile_all,
)


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
    return local_to_utc(parsed, zone)[0]


def _flow_frame(g: pl.DataFrame, c: CompiledFormat, tz: str) -> pl.DataFrame:
    """Matched groups of one definition to the columns :func:`.common.finish_flows` expects."""

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
