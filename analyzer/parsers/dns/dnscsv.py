"""DNS evidence as a documented CSV that any DNS export can be turned into.

The header names the columns; ``time``, ``query``, ``type`` and ``answer`` are required,
``client`` and ``ttl`` optional, others are ignored; order is free::

    time,client,query,type,answer,ttl
    2026-11-03T08:59:58Z,192.0.2.10,www.update.microsoft.com,CNAME,update.microsoft.com.nsatc.net,3600
    2026-11-03T08:59:58Z,192.0.2.10,update.microsoft.com.nsatc.net,A,203.0.113.50,60

One answer per line. ``time`` is ISO 8601; with ``Z`` or an offset it is exact, without one it is
read in ``--tz``. ``type`` is a name (``A``, ``AAAA``, ``CNAME``) or its number (1, 28, 5).
Fields may be quoted as PowerShell's ``Export-Csv`` quotes them; a line with an empty ``answer``
(a query without answer) is kept with no answers. Lines starting with ``#`` are comments.

Each line becomes one evidence record (:data:`analyzer.flows.EVIDENCE_SCHEMA`) with a one-element
``answers`` list. The README shows how to export Windows DNS Client and DNS Server logs to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ...flows import (
    conform_evidence,
    conform_rejects,
    empty_evidence,
    local_to_utc,
    normalize_answer_lists,
    normalize_name,
)
from ..base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame

NAME = "dnscsv"
REQUIRED = ("time", "query", "type", "answer")
OPTIONAL = ("client", "ttl")
RECORD_TYPES = {"1": "A", "2": "NS", "5": "CNAME", "6": "SOA", "12": "PTR", "15": "MX", "16": "TXT", "28": "AAAA"}
"""DNS record type numbers (as Windows events write them) to names."""

_FIELD = r'(?:"((?:[^"]|"")*)"|([^,"]*))'


def _split_header(line: str) -> list[str]:
    return [c.strip().strip('"').strip().lower() for c in line.removeprefix("\ufeff").split(",")]


def is_header(line: str) -> bool:
    """Whether ``line`` is a dnscsv header (it names at least the required columns)."""
    return set(REQUIRED) <= set(_split_header(line))


def _fields(text: pl.Expr, n: int) -> pl.Expr:
    """Extract ``n`` CSV fields (quoted or not) as a struct of ``q{i}``/``u{i}`` groups."""
    names = [f"{k}{i}" for i in range(n) for k in ("q", "u")]
    pattern = r"^\s*" + r"\s*,\s*".join(_FIELD for _ in range(n)) + r"\s*$"
    return text.str.extract_groups(pattern).struct.rename_fields(names)


def _time(col: pl.Expr, tz: str) -> pl.Expr:
    iso = col.str.strip_chars().str.replace(r"[zZ]$", "+00:00").str.replace(" ", "T", literal=True)
    has_offset = iso.str.contains(r"[+-]\d\d:?\d\d$")
    exact = iso.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
    local = local_to_utc(iso.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False), tz)[0]
    return pl.when(has_offset).then(exact).otherwise(local)


def _split_fields(group: pl.DataFrame, n: int) -> pl.DataFrame:
    """``group`` with the ``q{i}``/``u{i}`` columns of :func:`_fields`. Lines without a quote
    (nearly all) are split on commas, which is six times cheaper than the regex; a line that does
    not hold ``n`` fields gets nulls, as the regex would give it."""
    quoted = group["text"].str.contains('"', literal=True)
    plain = group.filter(~quoted) if quoted.any() else group
    parts = pl.col("_parts")
    fields = [pl.when(parts.list.len() == n).then(parts.list.get(i, null_on_oob=True)) for i in range(n)]
    split = plain.with_columns(pl.col("text").str.split(",").alias("_parts")).with_columns(
        *(pl.lit(None, pl.String).alias(f"q{i}") for i in range(n)),
        *(f.alias(f"u{i}") for i, f in enumerate(fields)),
    )
    names = [f"{k}{i}" for i in range(n) for k in ("q", "u")]
    split = split.select(*group.columns, *names)
    if plain.height == group.height:
        return split
    regex = group.filter(quoted).with_columns(_fields(pl.col("text"), n).alias("_g")).unnest("_g")
    return pl.concat([split, regex]).sort("line_no")


def _parse_segment(group: pl.DataFrame, columns: list[str], ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = len(columns)
    g = _split_fields(group, n)
    value = {}
    for i, name in enumerate(columns):
        if name in REQUIRED + OPTIONAL and name not in value:
            value[name] = pl.coalesce(pl.col(f"q{i}").str.replace_all('""', '"', literal=True), pl.col(f"u{i}"))
    g = g.with_columns(
        *[v.str.strip_chars().alias(f"_{k}") for k, v in value.items()],
        pl.col("u0").is_not_null().or_(pl.col("q0").is_not_null()).alias("_matched"),
    )
    get = lambda k: pl.col(f"_{k}") if k in value else pl.lit(None, pl.String)  # noqa: E731
    ttl = pl.when(get("ttl") != "").then(get("ttl").cast(pl.Float64, strict=False).round().cast(pl.Int64, strict=False))
    g = g.with_columns(_time(get("time"), ctx.options.tz).alias("_t"), ttl.alias("_ttl_s"))
    reason = (
        pl.when(~pl.col("_matched"))
        .then(pl.lit(f"not {n} comma-separated fields as the header names"))
        .when(pl.col("_t").is_null())
        .then(pl.lit(f"time is not ISO 8601 (or does not exist in {ctx.options.tz}): '") + get("time") + "'")
        .when(get("query") == "")
        .then(pl.lit("query is empty"))
        .when(get("type") == "")
        .then(pl.lit("type is empty"))
        .when((get("ttl") != "") & pl.col("_ttl_s").is_null())
        .then(pl.lit("ttl is not a number of seconds: '") + get("ttl") + "'")
    )
    g = g.with_columns(reason.alias("_reason"))
    rejects = reject_frame(g.filter(pl.col("_reason").is_not_null()), pl.col("_reason"), ctx, NAME)
    good = g.filter(pl.col("_reason").is_null())
    kind = get("type").str.to_uppercase()
    answer = get("answer")
    records = good.select(
        pl.col("_t").alias("time"),
        pl.when(get("client") != "").then(get("client")).alias("client"),
        normalize_name(get("query")).alias("query"),
        kind.replace(RECORD_TYPES).alias("type"),
        pl.when(answer != "").then(pl.concat_list(answer)).otherwise(pl.lit([], pl.List(pl.String))).alias("answers"),
        pl.when(answer != "")
        .then(pl.concat_list(pl.col("_ttl_s")))
        .otherwise(pl.lit([], pl.List(pl.Int64)))
        .alias("ttls"),
        pl.lit("dns").alias("host_source"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
        "line_no",
    )
    records = records.with_columns(normalize_answer_lists(records["answers"]))
    return conform_evidence(records), rejects


@dataclass
class HeaderState:
    """The column list of the last header line an earlier chunk of the file held."""

    columns: list[str] | None = None


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    """Parse a chunk of dnscsv lines into evidence records, rejects and skipped counts.

    Example::

        out = parse(pl.DataFrame({"line_no": [1, 2], "text": ["time,client,query,type,answer,ttl",
            "2026-11-03T09:00:00Z,192.0.2.10,download.windowsupdate.com,A,203.0.113.60,30"]}),
            ParseContext(file="dns.csv"))
        out.records["answers"]  # [["203.0.113.60"]]
    """
    text = pl.col("text")
    blank = text.str.strip_chars() == ""
    comment = text.str.starts_with("#")
    # A header is told by its names; its position starts a segment read with its column list.
    maybe_header = ~blank & ~comment & text.str.to_lowercase().str.contains("query", literal=True)
    candidates = lines.filter(maybe_header)
    header_lines = [row for row in candidates.iter_rows() if is_header(row[1])]
    header_nos = pl.Series("line_no", [r[0] for r in header_lines], dtype=pl.Int64)
    state = ctx.state_of(HeaderState)
    column_lists = [state.columns] + [_split_header(r[1]) for r in header_lines]
    if header_lines:
        state.columns = column_lists[-1]
    frame = lines.with_columns(pl.col("line_no").is_in(header_nos.implode()).alias("_hdr"))
    frame = frame.with_columns(pl.col("_hdr").cum_sum().cast(pl.Int64).alias("_seg"))
    n_blank = int(frame.select(blank.sum()).item())
    n_comment = int(frame.select(comment.sum()).item())
    skipped = {k: v for k, v in (("header", len(header_lines)), ("blank", n_blank), ("comment", n_comment)) if v}
    data = frame.filter(~blank & ~comment & ~pl.col("_hdr"))

    def read(group: pl.DataFrame, seg: int):
        columns = column_lists[seg]
        if columns is None:
            return "no header line (time,client,query,type,answer,ttl) before this line"
        return _parse_segment(group, columns, ctx)

    return ParseOutput(*by_segment(data, read, ctx, NAME), skipped)


def by_segment(data: pl.DataFrame, read, ctx: ParseContext, fmt: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read ``data`` one header segment (``_seg``) at a time with ``read(group, seg)``, which
    returns (records, rejects) or the reason every line of the segment is rejected. Shared by
    the header-driven evidence readers. Returns all records and rejects, in line order."""
    records, rejects = [], [reject_frame(data.clear(), "", ctx, fmt)]
    for seg in data["_seg"].unique().sort().to_list():
        group = data.filter(pl.col("_seg") == seg)
        got = read(group, seg)
        if isinstance(got, str):
            rejects.append(reject_frame(group, got, ctx, fmt))
            continue
        records.append(got[0])
        rejects.append(got[1])
    out = pl.concat(records).sort("line_no") if records else empty_evidence()
    return out, conform_rejects(pl.concat(rejects).sort("line_no"))


def sniff(head: list[str], options: ParseOptions) -> bool:
    """A dnscsv file when its first line that is not blank or a comment is a dnscsv header."""
    for line in head:
        if line.strip() and not line.startswith("#"):
            return is_header(line)
    return False


PARSER = Parser(
    name=NAME,
    description="DNS evidence CSV: time,client,query,type,answer,ttl (see README for Windows DNS exports)",
    sniff=sniff,
    parse=parse,
    kind="dns",
)
