"""Aggregates of judged flows: findings, coverage, verdict counts, chart series, per-file counts.

A check never needs all its flows at once: each batch of judged flows is folded into a
:class:`Partial` (:func:`fold`), partials are merged (:func:`merge`) and the merged partial is
turned into the findings, coverage and summary (:func:`findings_of`, :func:`coverage_of`,
:func:`summary_of`). The merge is associative and commutative, so batches may be folded in any
grouping and any order (threads, Spark tasks) and the result is the same as folding all flows at
once: every "first" value is chosen by an explicit order (time, file, line), never by arrival.

Everything here is a pure function of frames, and a :class:`Partial` is a plain dataclass of
polars frames: it pickles, so a Spark task can return one.

What a partial holds, each bounded by distinct keys rather than by lines:

- ``findings``: per finding key (server, direction, verdict, remote host or address, port,
  scheme), the count, bytes, first/last seen, the first evidence lines, the entry and reason of
  the first flow, the device rules seen deciding;
- ``coverage``: per required destination key, allowed/blocked/failed counts and first/last seen;
- ``verdicts``: flows per verdict (null: out of scope);
- ``minutes``: flows per UTC minute (all of them, and required ones allowed/blocked/failed): the
  timeline's series, binned after the fact (:func:`main_range`, :func:`timeline_series`);
- ``destinations``: unexpected flows per destination, allowed and blocked (the chart's top list);
- ``files``: per input file, flows, flows in scope, first and last time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from .match import _fits, match_hosts
from .policy import Policy
from .verdicts import SEVERITY_RANK, VERDICTS

FINDINGS_SCHEMA = pl.Schema(
    {
        "finding_id": pl.String,
        "verdict": pl.String,
        "severity": pl.String,
        "server": pl.String,
        "direction": pl.String,
        "host": pl.String,
        "address": pl.String,
        "port": pl.Int32,
        "scheme": pl.String,
        "reason": pl.String,
        "entry": pl.String,
        "device_rules": pl.String,
        "evidence_source": pl.String,
        "ambiguous": pl.Boolean,
        "candidates": pl.String,
        "count": pl.Int64,
        "bytes": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "evidence": pl.List(pl.Struct({"file": pl.String, "line": pl.Int64})),
    }
)
"""One row per finding; ``bytes`` sums the flows' bytes (0 where the log has none).
``evidence_source``: how its destination was named (log, dns, proxy, session; several joined
by ", "); ``ambiguous``/``candidates``: see :mod:`analyzer.ambiguity` (candidates of its flows,
``name (verdict); ...``, different sets joined by " | ")."""

COVERAGE_SCHEMA = pl.Schema(
    {
        "server": pl.String,
        "entry": pl.String,
        "kind": pl.String,
        "scheme": pl.String,
        "port": pl.Int32,
        "status": pl.String,
        "allowed": pl.Int64,
        "blocked": pl.Int64,
        "failed": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
    }
)

EVIDENCE_LINES = 5
DEVICE_RULES_MAX = 10
CANDIDATES_MAX = 10
AMBIGUOUS = "ambiguous attribution: the address stood for names that get different verdicts; severity is the worst case"

REQUIRED_KINDS = {"required-allowed": "allowed", "blocked-required": "blocked", "required-failed": "failed"}
"""Required verdicts → the timeline's series."""
UNEXPECTED_KINDS = {"unexpected-allowed": "allowed", "unexpected-blocked": "blocked"}

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


def _rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(SEVERITY_RANK, default=None, return_dtype=pl.Int32)


def _ambiguity_columns(schema: pl.Schema) -> list[pl.Expr]:
    """What a finding keeps of :func:`analyzer.ambiguity.mark` and of how hosts are known."""
    marked = "attribution" in schema  # judged without the ambiguity step: nothing ambiguous
    none = pl.lit(None, pl.String)
    return [
        pl.col("host_source").cast(pl.String).alias("_src"),
        (pl.col("attribution") == "ambiguous").fill_null(False).alias("_amb")
        if marked
        else pl.lit(False).alias("_amb"),
        (pl.col("candidates") if marked else none).alias("_cand"),
        (pl.col("worst_severity") if marked else none).alias("_worst"),
    ]


def _ambiguity_aggs() -> list[pl.Expr]:
    return [
        pl.col("_src").drop_nulls().unique().sort().alias("_sources"),
        pl.col("_amb").any().alias("ambiguous"),
        pl.col("_cand").drop_nulls().unique().sort().head(CANDIDATES_MAX).alias("_candidates"),
        pl.col("_worst").sort_by(_rank("_worst"), nulls_last=True).first().alias("_worst"),
    ]


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
        *_ambiguity_columns(judged.collect_schema()),
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
            *_ambiguity_aggs(),
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
    frames = [frame.select(list(schema)).cast(dict(schema)) for frame, schema in zip(parts, schemas, strict=True)]
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
            pl.col("_worst").sort_by(_rank("_worst"), nulls_last=True).first(),
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

    return Partial(
        findings=_merge_findings(cat("findings")),
        coverage=_merge_sum(cat("coverage"), _COVERAGE_KEY, _COVERAGE_PARTIAL),
        verdicts=_merge_sum(cat("verdicts"), ["verdict"], _VERDICTS_PARTIAL),
        minutes=_merge_sum(cat("minutes"), ["minute"], _MINUTES_PARTIAL),
        destinations=_merge_sum(cat("destinations"), ["destination"], _DESTINATIONS_PARTIAL),
        files=_merge_sum(cat("files"), ["source_file"], _FILES_PARTIAL),
        outside_window=sum(p.outside_window for p in partials),
    )


# --- the final frames ----------------------------------------------------------------------------


def _finding_id(row: tuple) -> str:
    """A stable id from what identifies a finding (the same finding gets the same id in every run)."""
    text = "|".join("" if v is None else str(v) for v in row)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def findings_of(partial: Partial) -> pl.DataFrame:
    """The findings of a partial (:data:`FINDINGS_SCHEMA`): sorted by severity, server, host,
    address, port, scheme (stable across runs); up to 5 evidence lines, the first in time."""
    grouped = partial.findings
    # An ambiguous finding is as severe as its worst plausible case, and its reason says so.
    grouped = grouped.with_columns(
        pl.when(pl.col("ambiguous") & (_rank("_worst") < _rank("severity")))
        .then(pl.col("_worst"))
        .otherwise(pl.col("severity"))
        .alias("severity"),
        pl.when(pl.col("ambiguous"))
        .then(pl.concat_str(pl.lit(AMBIGUOUS + ": "), pl.col("reason").fill_null("")))
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )
    out = grouped.select(
        pl.col("verdict"),
        pl.col("severity"),
        pl.col("server"),
        pl.col("direction_to_server").alias("direction"),
        pl.col("_host").alias("host"),
        pl.coalesce("_addr_key", "_first_ip").alias("address"),
        pl.col("dst_port").alias("port"),
        pl.col("scheme"),
        pl.col("reason"),
        pl.col("entry"),
        pl.when(pl.col("_drs").list.len() > 0).then(pl.col("_drs").list.join("; ")).alias("device_rules"),
        pl.when(pl.col("_sources").list.len() > 0).then(pl.col("_sources").list.join(", ")).alias("evidence_source"),
        pl.col("ambiguous"),
        pl.when(pl.col("_candidates").list.len() > 0).then(pl.col("_candidates").list.join(" | ")).alias("candidates"),
        pl.col("count"),
        pl.col("bytes"),
        pl.col("first_seen"),
        pl.col("last_seen"),
        pl.col("evidence").list.eval(pl.struct(pl.element().struct.field("file"), pl.element().struct.field("line"))),
    )
    out = out.with_columns(pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int32).alias("_rank")).sort(
        ["_rank", "server", "host", "address", "port", "scheme", "verdict", "direction"],
        nulls_last=True,
    )
    ids = [
        _finding_id(r) for r in out.select("verdict", "server", "direction", "host", "address", "port", "scheme").rows()
    ]
    out = out.drop("_rank").with_columns(pl.Series("finding_id", ids, dtype=pl.String))
    return out.select(list(FINDINGS_SCHEMA)).cast(dict(FINDINGS_SCHEMA))


def coverage_of(partial: Partial, policy: Policy) -> pl.DataFrame:
    """Every required entry and hierarchy pair, per server: ``seen-allowed``, ``seen-blocked`` or
    ``never-seen``, with counts of allowed, blocked and failed flows and first/last seen.

    A flow counts for every required entry that covers it (``download.windowsupdate.com`` exercises
    both ``http://download.windowsupdate.com`` and ``http://*.windowsupdate.com``).
    """
    agg = partial.coverage
    required = policy.required.with_row_index("_req")
    fits = _fits(pl.col("scheme"), pl.col("dst_port"), pl.col("r_scheme"), pl.col("r_port"))
    entry_rows = agg.filter(pl.col("reason_code") == "required-entry")
    hm = match_hosts(entry_rows["dst_host"], policy.entries.filter(pl.col("set") == "profile"), policy.wildcard)
    req = required.select(
        "_req", "server", "entry_id", pl.col("scheme").alias("r_scheme"), pl.col("port").alias("r_port")
    )
    by_entry = (
        entry_rows.join(hm, left_on="dst_host", right_on="host").join(req, on=["server", "entry_id"]).filter(fits)
    )
    hier_req = required.filter(pl.col("kind") == "hierarchy").select(
        "_req", "server", pl.col("scheme").alias("r_scheme"), pl.col("port").alias("r_port")
    )
    by_pair = agg.filter(pl.col("reason_code") == "required-hierarchy").join(hier_req, on="server").filter(fits)
    seen = _sum_by(
        pl.concat(
            [f.select("_req", "allowed", "blocked", "failed", "first_seen", "last_seen") for f in (by_entry, by_pair)]
        ),
        ["_req"],
    )
    out = required.join(seen, on="_req", how="left", maintain_order="left").with_columns(
        pl.col("allowed", "blocked", "failed").fill_null(0)
    )
    status = (
        pl.when((pl.col("allowed") + pl.col("failed")) > 0)
        .then(pl.lit("seen-allowed"))
        .when(pl.col("blocked") > 0)
        .then(pl.lit("seen-blocked"))
        .otherwise(pl.lit("never-seen"))
    )
    return out.with_columns(status.alias("status")).select(list(COVERAGE_SCHEMA)).cast(dict(COVERAGE_SCHEMA))


def result_fields(partial: Partial, policy: Policy) -> dict:
    """The fields of a check result that come from the merged partial (findings, coverage,
    summary, outside-window count, the partial itself): one definition for every engine."""
    return {
        "findings": findings_of(partial),
        "coverage": coverage_of(partial, policy),
        "summary": summary_of(partial),
        "outside_window": partial.outside_window,
        "aggregates": partial,
    }


def summary_of(partial: Partial) -> dict[str, int]:
    """Count of flows per verdict, every kind listed (0 when absent), plus ``out-of-scope``."""
    got = {v: int(n) for v, n in partial.verdicts.iter_rows()}
    summary = {v: got.get(v, 0) for v in VERDICTS}
    summary["out-of-scope"] = got.get(None, 0)
    return summary


# All at once: the same functions over one frame of judged flows (tests, notebooks, small inputs).


def findings(judged: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Group in-scope flows into findings: by server, direction, remote host (or address), port,
    scheme and verdict, with count, bytes, first/last seen, reason, ``entry`` (the allow-list
    entry or hierarchy pair), ``device_rules`` (device: rule seen deciding) and up to 5 evidence
    lines, the first in time.

    For inbound findings the remote side is the source: ``host`` is null and ``address`` is the
    source address. Sorted by severity, server, host, port, scheme (stable across runs).
    """
    return findings_of(fold(judged))


def coverage(judged: pl.DataFrame | pl.LazyFrame, policy: Policy) -> pl.DataFrame:
    """:func:`coverage_of` all of ``judged`` at once."""
    return coverage_of(fold(judged), policy)


def summarize(judged: pl.DataFrame | pl.LazyFrame) -> dict[str, int]:
    """Count of flows per verdict, every kind listed (0 when absent), plus ``out-of-scope``."""
    # Counted on the column alone: a group-by of the whole frame took seconds on 5M flows.
    counts = _verdicts_partial(judged.lazy().select("verdict")).collect()
    return summary_of(Partial(**{**empty().__dict__, "verdicts": counts}))


# --- the timeline's series -----------------------------------------------------------------------

MAIN_QUANTILES = (0.05, 0.95)
"""The middle of the flows in time; the main range reaches one such span beyond each end."""
MIN_SPAN = timedelta(hours=1)
MAX_BINS = 400
BUCKETS: tuple[tuple[str, str, timedelta, timedelta], ...] = (
    ("1h", "hour", timedelta(hours=1), timedelta(days=3)),
    ("1d", "day", timedelta(days=1), timedelta(days=120)),
    ("1w", "week", timedelta(weeks=1), timedelta(days=3 * 365)),
    ("1mo", "month", timedelta(days=30.44), timedelta(days=25 * 365)),
)
"""(every, unit, width, longest span) of the time bins, finest first; beyond them, years."""


@dataclass(frozen=True)
class TimeRange:
    """Where most flows lie in time, and how many lie outside (see :func:`main_range`)."""

    first: datetime | None
    last: datetime | None
    outside: int = 0
    """Flows (any verdict) outside [first, last]."""
    outside_required: int = 0
    """Required flows among them (not drawn in the timeline)."""


def main_range(minutes: pl.DataFrame) -> TimeRange:
    """The time range the charts draw: the middle 90 % of the flows (by the per-minute counts
    of :class:`Partial`), widened by its own span (at least an hour) on each side, within the
    first and last flow. A stray timestamp (a clock reset to 1970, a line dated 2286) falls
    outside it, so it neither stretches the axis over centuries nor squeezes the real traffic
    into one bar; the flows outside are counted, for the report to say so.

    Example: ``main_range(result.aggregates.minutes).outside``.
    """
    if minutes.is_empty():
        return TimeRange(None, None)
    ordered = minutes.sort("minute").with_columns(pl.col("flows").cum_sum().alias("_cum"))
    total = int(ordered["_cum"][-1])

    def at(q: float) -> datetime:
        # The minute holding the flow of rank ceil(q * total): a weighted quantile, exact on counts.
        rank = max(1, -(-int(q * total * 1_000_000) // 1_000_000))
        return ordered.filter(pl.col("_cum") >= rank)["minute"][0]

    low, high = at(MAIN_QUANTILES[0]), at(MAIN_QUANTILES[1])
    span = max(high - low, MIN_SPAN)
    start = max(low - span, ordered["minute"][0])
    end = min(high + span, ordered["minute"][-1])
    outside = ordered.filter((pl.col("minute") < start) | (pl.col("minute") > end))
    required = int(sum(outside[k].sum() for k in ("allowed", "blocked", "failed")))
    return TimeRange(
        start, end + timedelta(minutes=1) - timedelta(microseconds=1), int(outside["flows"].sum()), required
    )


def bucket_of(span: timedelta) -> tuple[str, str, timedelta]:
    """The bin for a time range: hours up to 3 days, days up to 120 days, weeks up to 3 years,
    months up to 25 years, then as many years per bin as keep the bins under :data:`MAX_BINS`.

    Example: ``bucket_of(timedelta(days=7))[:2] == ("1d", "day")``.
    """
    for every, unit, width, longest in BUCKETS:
        if span <= longest:
            return every, unit, width
    years = max(1, -(-span.days // (365 * MAX_BINS)))
    return f"{years}y", "year" if years == 1 else f"{years} years", timedelta(days=365.25 * years)


def bin_width(unit: str) -> timedelta:
    """The width of a bin of ``unit`` (as :func:`bucket_of` names it): ``"day"`` → one day."""
    for _every, name, width, _longest in BUCKETS:
        if name == unit:
            return width
    years = int(unit.split()[0]) if unit != "year" else 1
    return timedelta(days=365.25 * years)


def timeline_series(minutes: pl.DataFrame, tz: str, within: TimeRange | None = None) -> tuple[pl.DataFrame, str]:
    """Required flows per time bin in ``tz`` within the main range: ``bucket``, allowed, blocked,
    failed, and the bin's unit. Bins without traffic are present with zeros, so a gap in the logs
    shows as a gap. At most :data:`MAX_BINS` bins (a few more at the edges of a month or year).
    """
    within = within or main_range(minutes)
    columns = list(dict.fromkeys(REQUIRED_KINDS.values()))
    schema = {"bucket": pl.Datetime("us", tz), **dict.fromkeys(columns, pl.UInt32)}
    required = minutes.filter(pl.sum_horizontal(columns) > 0)
    if within.first is not None:
        required = required.filter(pl.col("minute").is_between(within.first, within.last))
    if required.is_empty():
        return pl.DataFrame(schema=schema), "hour"
    local = required.with_columns(pl.col("minute").dt.convert_time_zone(tz).alias("local"))
    every, unit, _width = bucket_of(local["local"].max() - local["local"].min())
    counts = (
        local.group_by(pl.col("local").dt.truncate(every).alias("bucket"))
        .agg(pl.col(c).sum() for c in columns)
        .sort("bucket")
    )
    frame = pl.DataFrame(
        {"bucket": pl.datetime_range(counts["bucket"].min(), counts["bucket"].max(), every, eager=True, time_zone=tz)}
    )
    frame = frame.join(counts, on="bucket", how="left")
    return frame.select("bucket", *(pl.col(c).fill_null(0).cast(pl.UInt32) for c in columns)).sort("bucket"), unit


def top_destinations(destinations: pl.DataFrame, top: int) -> pl.DataFrame:
    """The ``top`` destinations of unexpected traffic: destination, allowed, blocked, total;
    ties broken by name so the order is stable."""
    schema = {"destination": pl.String, "allowed": pl.UInt32, "blocked": pl.UInt32, "total": pl.UInt32}
    counts = destinations.with_columns((pl.col("allowed") + pl.col("blocked")).alias("total"))
    return counts.sort(["total", "destination"], descending=[True, False]).head(top).select(list(schema)).cast(schema)
