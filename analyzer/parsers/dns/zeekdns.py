"""Zeek ``dns.log`` in Zeek's TSV format, driven by its ``#fields`` header.

The header declares the separator and the field names::

    #separator \\x09
    #set_separator	,
    #empty_field	(empty)
    #unset_field	-
    #path	dns
    #fields	ts	uid	id.orig_h	id.orig_p	...	query	...	qtype_name	...	answers	TTLs	rejected

``answers`` and ``TTLs`` are vectors (``a,b,c`` with the set separator); Zeek writes a response's
CNAME targets and addresses in answer order. One line is one response and becomes one evidence
record (:data:`analyzer.flows.EVIDENCE_SCHEMA`) with its answers as a list. ``-`` is unset and
``(empty)`` an empty vector. ``ts`` is epoch seconds (UTC). Lines whose field count differs from
``#fields`` are rejects; ``#`` lines (``#open``/``#close`` too) are skipped headers.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ...flows import conform_evidence, normalize_answer_lists, normalize_name
from ..base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame
from .dnscsv import by_segment

NAME = "zeekdns"
REQUIRED = ("ts", "query", "answers")
_DEFAULTS = {"separator": "\t", "set_separator": ",", "empty_field": "(empty)", "unset_field": "-"}


def _unescape(value: str) -> str:
    # Zeek writes the separator escaped (``\x09``).
    return value.encode("ascii", "backslashreplace").decode("unicode_escape") if "\\x" in value else value


def _directive(line: str, separator: str) -> tuple[str, str]:
    """``#name<sep>value`` (``#separator`` itself uses a space) → (name, value)."""
    if line.startswith("#separator"):
        return "separator", _unescape(line[len("#separator") :].strip())
    name, _, value = line[1:].partition(separator)
    if not _:
        name, _, value = line[1:].partition(" ")
    return name.strip(), value


@dataclass
class Settings:
    """The directives (``#separator``, ``#fields``, ...) in force at the end of earlier chunks."""

    settings: dict | None = None


def _scan(lines: pl.DataFrame, ctx: ParseContext) -> tuple[pl.DataFrame, list[dict]]:
    """Segment lines by ``#fields`` header; return per segment the settings in force."""
    text = pl.col("text")
    frame = lines.with_columns(text.str.starts_with("#fields").cum_sum().cast(pl.Int64).alias("_seg"))
    state = ctx.state_of(Settings)
    settings = dict(state.settings or _DEFAULTS)
    settings.setdefault("fields", None)
    segments = [dict(settings)]
    for line in frame.filter(text.str.starts_with("#"))["text"]:
        name, value = _directive(line, settings["separator"])
        if name == "fields":
            settings["fields"] = tuple(value.split(settings["separator"]))
            segments.append(dict(settings))
        elif name in _DEFAULTS:
            settings[name] = value
    state.settings = settings
    return frame, segments


def _vector(col: pl.Expr, s: dict) -> pl.Expr:
    unset = (col == s["unset_field"]) | (col == s["empty_field"]) | col.is_null()
    return pl.when(unset).then(pl.lit([], pl.List(pl.String))).otherwise(col.str.split(s["set_separator"]))


def _parse_segment(group: pl.DataFrame, s: dict, ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    fields = s["fields"]
    n = len(fields)
    sep = s["separator"]
    count = pl.col("text").str.count_matches(sep, literal=True) + 1
    g = group.with_columns(count.alias("_n"))
    rejects = [
        reject_frame(
            g.filter(pl.col("_n") != n),
            pl.lit(f"{n} fields expected by #fields, ") + pl.col("_n").cast(pl.String) + pl.lit(" found"),
            ctx,
            NAME,
        )
    ]
    g = g.filter(pl.col("_n") == n)
    names = [f"f{i}" for i in range(n)]
    g = g.with_columns(pl.col("text").str.splitn(sep, n).struct.rename_fields(names).alias("_s")).unnest("_s")
    col = {name: pl.col(f"f{i}") for i, name in enumerate(fields)}
    unset = s["unset_field"]
    get = lambda k: pl.when(col[k] != unset).then(col[k]) if k in col else pl.lit(None, pl.String)  # noqa: E731
    ts = get("ts").cast(pl.Float64, strict=False)
    g = g.with_columns(
        (ts * 1_000_000)
        .round()
        .cast(pl.Int64, strict=False)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("_t")
    )
    reason = pl.when(pl.col("_t").is_null()).then(pl.lit("ts is not epoch seconds: '") + col["ts"] + "'")
    g = g.with_columns(reason.alias("_reason"))
    rejects.append(reject_frame(g.filter(pl.col("_reason").is_not_null()), pl.col("_reason"), ctx, NAME))
    good = g.filter(pl.col("_reason").is_null())
    ttls = _vector(col["TTLs"], s) if "TTLs" in col else pl.lit([], pl.List(pl.String))
    qtype = pl.coalesce(get("qtype_name"), get("qtype"))
    records = good.select(
        pl.col("_t").alias("time"),
        get("id.orig_h").alias("client"),
        normalize_name(get("query")).alias("query"),
        qtype.str.to_uppercase().alias("type"),
        _vector(col["answers"], s).alias("answers"),
        ttls.list.eval(pl.element().cast(pl.Float64, strict=False).round().cast(pl.Int64, strict=False)).alias("ttls"),
        pl.lit("dns").alias("host_source"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
        "line_no",
    )
    records = records.with_columns(normalize_answer_lists(records["answers"]))
    return conform_evidence(records), pl.concat(rejects)


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of Zeek dns.log lines into evidence records, rejects and skipped counts.

    Example: ``parse(chunk.lines, ParseContext(file="dns.log")).records["answers"]``.
    """
    frame, segments = _scan(lines, ctx)
    text = pl.col("text")
    blank = text.str.strip_chars() == ""
    comment = text.str.starts_with("#")
    n_blank = int(frame.select(blank.sum()).item())
    n_header = int(frame.select(comment.sum()).item())
    skipped = {k: v for k, v in (("header", n_header), ("blank", n_blank)) if v}
    data = frame.filter(~blank & ~comment)

    def read(group: pl.DataFrame, seg: int):
        s = segments[seg]
        fields = s.get("fields")
        if fields is None:
            return "no #fields header before this line"
        missing = [f for f in REQUIRED if f not in fields]
        if missing:
            return f"#fields lacks {', '.join(missing)}: not a dns.log"
        return _parse_segment(group, s, ctx)

    return ParseOutput(*by_segment(data, read, ctx, NAME), skipped)


def sniff(head: list[str], options: ParseOptions) -> bool:
    """A Zeek dns.log: ``#path dns``, or a ``#fields`` line naming ``query`` and ``answers``."""
    for line in head:
        if line.startswith("#path") and line.split()[-1:] == ["dns"]:
            return True
        if line.startswith("#fields"):
            names = line.split()
            return "query" in names and "answers" in names
    return False


PARSER = Parser(
    name=NAME,
    description="DNS evidence: Zeek dns.log (TSV with #fields; answers and TTLs vectors)",
    sniff=sniff,
    parse=parse,
    kind="dns",
)
