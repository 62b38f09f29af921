"""Partial aggregates: what one batch of judged flows folds into (:func:`fold`), and their
associative, commutative :func:`merge` (see :mod:`analyzer.aggregates`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from ..flows import compact
from ..verdicts import outcomes
from .ambiguous import CANDIDATES_MAX, ambiguity_aggs, ambiguity_columns, rank

EVIDENCE_LINES = 5
DEVICE_RULES_MAX = 10

REQUIRED_KINDS = outcomes("required")
"""Required verdicts → the timeline's series (allowed, blocked, failed)."""
UNEXPECTED_KINDS = outcomes("unexpected")
"""Unexpected verdicts → the destinations chart's series (unattributed flows have no outcome: left out)."""

_TIME = pl.Datetime("us", "UTC")
_AT = pl.Struct({"time": _TIME, "file": pl.String, "line": pl.Int64})
"""Where a flow sits in the order that decides every "first": time, then file, then line."""
_KEY = ("server", "direction_to_server", "verdict", "_host", "_addr_key", "dst_port", "scheme")
_COVERAGE_KEY = ("server", "reason_code", "dst_host", "scheme", "dst_port")

_FINDINGS_PARTIAL = pl.Schema(
    {
        "server": pl.String,
        "direction_to_server": pl.String,
        "verdict": pl.String,
        "_host": pl.String,
        "_addr_key": pl.String,
        "dst_port": pl.Int32,
        "scheme": pl.String,
        "severity": pl.String,
        "reason": pl.String,
        "entry": pl.String,
        "_entry_at": _AT,
        "_drs": pl.List(pl.String),
        "count": pl.Int64,
        "bytes": pl.Int64,
        "first_seen": _TIME,
        "last_seen": _TIME,
        "_first_ip": pl.String,
        "evidence": pl.List(_AT),
        "_sources": pl.List(pl.String),
        "ambiguous": pl.Boolean,
        "_candidates": pl.List(pl.String),
        "_worst": pl.String,
    }
)
_COVERAGE_PARTIAL = pl.Schema(
    {
        "server": pl.String,
        "reason_code": pl.String,
        "dst_host": pl.String,
        "scheme": pl.String,
        "dst_port": pl.Int32,
        "allowed": pl.Int64,
        "blocked": pl.Int64,
        "failed": pl.Int64,
        "first_seen": _TIME,
        "last_seen": _TIME,
    }
)
_VERDICTS_PARTIAL = pl.Schema({"verdict": pl.String, "flows": pl.Int64})
_MINUTES_PARTIAL = pl.Schema(
    {"minute": _TIME, "flows": pl.Int64, "allowed": pl.Int64, "blocked": pl.Int64, "failed": pl.Int64}
)
_DESTINATIONS_PARTIAL = pl.Schema({"destination": pl.String, "allowed": pl.Int64, "blocked": pl.Int64})
_FILES_PARTIAL = pl.Schema(
    {"source_file": pl.String, "flows": pl.Int64, "in_scope": pl.Int64, "first": _TIME, "last": _TIME}
)


@dataclass
class Partial:
    """The aggregates of some judged flows (see the module's docstring). Merge with :func:`merge`.

    ``outside_window`` counts flows dropped by ``--since``/``--until`` before judging.
    """

    findings: pl.DataFrame
    coverage: pl.DataFrame
    verdicts: pl.DataFrame
    minutes: pl.DataFrame
    destinations: pl.DataFrame
    files: pl.DataFrame
    outside_window: int = 0

    @property
    def flows(self) -> int:
        """How many judged flows the partial holds (in scope or not)."""
        return int(self.verdicts["flows"].sum())

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """The first and last flow time (None without timed flows)."""
        return self.files["first"].min(), self.files["last"].max()


def empty() -> Partial:
    """The partial of no flows: the neutral element of :func:`merge`."""
    return Partial(
        findings=pl.DataFrame(schema=_FINDINGS_PARTIAL),
        coverage=pl.DataFrame(schema=_COVERAGE_PARTIAL),
        verdicts=pl.DataFrame(schema=_VERDICTS_PARTIAL),
        minutes=pl.DataFrame(schema=_MINUTES_PARTIAL),
        destinations=pl.DataFrame(schema=_DESTINATIONS_PARTIAL),
        files=pl.DataFrame(schema=_FILES_PARTIAL),
    )


# --- folding one batch ---------------------------------------------------------------------------


def _at(time: str = "time", file: str = "source_file", line: str = "line_no") -> pl.Expr:
    return pl.struct(pl.col(time).alias("time"), pl.col(file).alias("file"), pl.col(line).alias("line"))


_ORDER = ("time", "source_file", "line_no")


def remote_side(direction: pl.Expr | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(host, address) of the remote side a finding groups a flow by: for an inbound flow no host
    and the source address; otherwise the destination host, or its address when it has none.
    ``direction`` defaults to the ``direction_to_server`` column."""
    inbound = (pl.col("direction_to_server") if direction is None else direction) == "inbound"
    host = pl.when(inbound).then(pl.lit(None, pl.String)).otherwise(pl.col("dst_host"))
    address = pl.when(inbound).then(pl.col("src_ip")).when(pl.col("dst_host").is_null()).then(pl.col("dst_ip"))
    return host, address


def _findings_partial(judged: pl.LazyFrame) -> pl.LazyFrame:
    host, address = remote_side()
    dr = pl.concat_str([pl.col("device"), pl.col("rule")], separator=": ", ignore_nulls=True)
    keyed = judged.filter(pl.col("verdict").is_not_null()).select(
        *(c for c in _KEY if not c.startswith("_")),
        "severity",
        "reason",
        "entry",
        "bytes",
        "dst_ip",
        *_ORDER,
        host.alias("_host"),
        address.alias("_addr_key"),
        dr.alias("_dr"),
        *ambiguity_columns(judged.collect_schema()),
    )
    return (
        keyed.sort(*_ORDER, nulls_last=True)
        .group_by(_KEY)
        .agg(
            pl.col("severity").first(),
            pl.col("reason").first(),
            pl.col("entry").drop_nulls().first(),
            _at().filter(pl.col("entry").is_not_null()).first().alias("_entry_at"),
            pl.col("_dr").drop_nulls().filter(pl.col("_dr") != "").unique().sort().head(DEVICE_RULES_MAX).alias("_drs"),
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("bytes").sum().cast(pl.Int64),
            pl.col("time").min().alias("first_seen"),
            pl.col("time").max().alias("last_seen"),
            pl.col("dst_ip").min().alias("_first_ip"),
            _at().head(EVIDENCE_LINES).alias("evidence"),
            *ambiguity_aggs(),
        )
    )


def _coverage_partial(judged: pl.LazyFrame) -> pl.LazyFrame:
    return (
        judged.filter(pl.col("verdict").is_in(list(REQUIRED_KINDS)))
        .group_by(_COVERAGE_KEY)
        .agg(
            *_kind_counts(REQUIRED_KINDS),
            pl.col("time").min().alias("first_seen"),
            pl.col("time").max().alias("last_seen"),
        )
    )


def _kind_counts(kinds: dict[str, str]) -> list[pl.Expr]:
    return [(pl.col("verdict") == v).sum().cast(pl.Int64).alias(k) for v, k in kinds.items()]


def _minutes_partial(judged: pl.LazyFrame) -> pl.LazyFrame:
    return (
        judged.filter(pl.col("time").is_not_null())
        .group_by(pl.col("time").dt.truncate("1m").alias("minute"))
        .agg(pl.len().cast(pl.Int64).alias("flows"), *_kind_counts(REQUIRED_KINDS))
    )


def destination_expr() -> pl.Expr:
    """The destination a chart shows: the host name, else the address, else ``(unknown)``; for
    inbound traffic (to a server) the destination is the server itself, so the remote party is
    shown instead, as ``from ADDRESS``."""
    outbound = pl.coalesce("dst_host", "dst_ip", pl.lit("(unknown)"))
    inbound = pl.lit("from ") + pl.coalesce("src_ip", pl.lit("(unknown)"))
    return pl.when(pl.col("direction_to_server") == "inbound").then(inbound).otherwise(outbound).alias("destination")


def _destinations_partial(judged: pl.LazyFrame) -> pl.LazyFrame:
    return (
        judged.filter(pl.col("verdict").is_in(list(UNEXPECTED_KINDS)))
        .group_by(destination_expr())
        .agg(*_kind_counts(UNEXPECTED_KINDS))
    )


def _files_partial(judged: pl.LazyFrame) -> pl.LazyFrame:
    return judged.group_by("source_file").agg(
        pl.len().cast(pl.Int64).alias("flows"),
        pl.col("server").is_not_null().sum().cast(pl.Int64).alias("in_scope"),
        pl.col("time").min().alias("first"),
        pl.col("time").max().alias("last"),
    )


def _verdicts_partial(judged: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return judged.lazy().group_by("verdict").agg(pl.len().cast(pl.Int64).alias("flows"))


def fold(judged: pl.DataFrame | pl.LazyFrame, outside_window: int = 0) -> Partial:
    """The partial aggregates of judged flows (the output of :func:`analyzer.check.check_flows`).

    Example: ``merge(fold(batch_1), fold(batch_2))`` equals ``fold(pl.concat([batch_1, batch_2]))``.
    """
    lazy = judged.lazy()
    parts = pl.collect_all(
        [
            _findings_partial(lazy),
            _coverage_partial(lazy),
            _verdicts_partial(lazy),
            _minutes_partial(lazy),
            _destinations_partial(lazy),
            _files_partial(lazy),
        ]
    )
    schemas = (
        _FINDINGS_PARTIAL,
        _COVERAGE_PARTIAL,
        _VERDICTS_PARTIAL,
        _MINUTES_PARTIAL,
        _DESTINATIONS_PARTIAL,
        _FILES_PARTIAL,
    )
    # Compacted: kept until the end, a partial's strings must not pin the batch's buffers.
    frames = [
        compact(frame.select(list(schema)).cast(dict(schema))) for frame, schema in zip(parts, schemas, strict=True)
    ]
    return Partial(*frames, outside_window=outside_window)


# --- merging -------------------------------------------------------------------------------------


def _by_at(column: pl.Expr) -> list[pl.Expr]:
    return [column.struct.field("time"), column.struct.field("file"), column.struct.field("line")]


def _merge_findings(frame: pl.DataFrame) -> pl.DataFrame:
    key = list(_KEY)
    # Only keys that several partials hold need merging: the long tail of destinations seen in
    # one batch passes through as it is (on 20M lines most of 360,000 findings did).
    shared = pl.len().over(key) > 1
    if not frame.select(shared.any()).item():
        return frame.select(list(_FINDINGS_PARTIAL)).cast(dict(_FINDINGS_PARTIAL))
    alone = frame.filter(~shared)
    frame = frame.filter(shared)
    first = pl.col("evidence").list.first()
    main = (
        frame.sort(_by_at(first), nulls_last=True)
        .group_by(key)
        .agg(
            pl.col("severity").first(),
            pl.col("reason").first(),
            pl.col("count").sum(),
            pl.col("bytes").sum(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("_first_ip").min(),
            pl.col("ambiguous").any(),
            pl.col("_worst").sort_by(rank("_worst"), nulls_last=True).first(),
        )
    )
    # Lists are merged as rows: exploded, sorted, cut again (the first lines, the first rules).
    evidence = (
        frame.select(*key, "evidence")
        .explode("evidence")
        .filter(pl.col("evidence").is_not_null())
        .unnest("evidence")
        .sort("time", "file", "line", nulls_last=True)
        .group_by(key)
        .agg(pl.struct("time", "file", "line").head(EVIDENCE_LINES).alias("evidence"))
    )
    rules = (
        frame.select(*key, "_drs")
        .explode("_drs")
        .filter(pl.col("_drs").is_not_null())
        .unique()
        .sort("_drs")
        .group_by(key)
        .agg(pl.col("_drs").head(DEVICE_RULES_MAX))
    )
    entries = (
        frame.filter(pl.col("entry").is_not_null())
        .sort(_by_at(pl.col("_entry_at")), nulls_last=True)
        .group_by(key)
        .agg(pl.col("entry").first(), pl.col("_entry_at").first())
    )
    lists = [
        frame.select(*key, column)
        .explode(column)
        .filter(pl.col(column).is_not_null())
        .unique()
        .sort(column)
        .group_by(key)
        .agg(pl.col(column).head(limit))
        for column, limit in (("_sources", None), ("_candidates", CANDIDATES_MAX))
    ]
    out = main
    for part in (evidence, rules, entries, *lists):
        out = out.join(part, on=key, how="left", nulls_equal=True)
    out = out.with_columns(pl.col("_drs", "_sources", "_candidates").fill_null(pl.lit([], pl.List(pl.String))))
    schema = dict(_FINDINGS_PARTIAL)
    return pl.concat([alone.select(list(schema)).cast(schema), out.select(list(schema)).cast(schema)])


def _sum_by(frame: pl.DataFrame, key: Iterable[str]) -> pl.DataFrame:
    """Rows of the same ``key`` as one: counts summed, first times the earliest, last the latest."""
    key = list(key)
    aggs = []
    for name in frame.columns:
        if name in key:
            continue
        if name in ("first_seen", "first"):
            aggs.append(pl.col(name).min())
        elif name in ("last_seen", "last"):
            aggs.append(pl.col(name).max())
        else:
            aggs.append(pl.col(name).sum())
    return frame.group_by(key).agg(aggs)


def _merge_sum(frame: pl.DataFrame, key: Iterable[str], schema: pl.Schema) -> pl.DataFrame:
    return _sum_by(frame, key).select(list(schema)).cast(dict(schema))


def merge(*partials: Partial) -> Partial:
    """One partial holding all of ``partials``: associative and commutative, so any grouping and
    order of merges gives the same aggregates. Example: ``merge(fold(a), fold(b), fold(c))``."""
    if not partials:
        return empty()
    if len(partials) == 1:
        return partials[0]

    def cat(name: str) -> pl.DataFrame:
        return pl.concat([getattr(p, name) for p in partials], how="vertical")

    # Compacted like fold's: a merged partial lives on, the frames it was made of do not.
    return Partial(
        findings=compact(_merge_findings(cat("findings"))),
        coverage=_merge_sum(cat("coverage"), _COVERAGE_KEY, _COVERAGE_PARTIAL),
        verdicts=_merge_sum(cat("verdicts"), ["verdict"], _VERDICTS_PARTIAL),
        minutes=_merge_sum(cat("minutes"), ["minute"], _MINUTES_PARTIAL),
        destinations=compact(_merge_sum(cat("destinations"), ["destination"], _DESTINATIONS_PARTIAL)),
        files=_merge_sum(cat("files"), ["source_file"], _FILES_PARTIAL),
        outside_window=sum(p.outside_window for p in partials),
    )


# --- the final frames ----------------------------------------------------------------------------
