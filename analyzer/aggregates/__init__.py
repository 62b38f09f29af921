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

import polars as pl

from ..baseline import compare
from ..match import _fits, match_hosts
from ..policy import Policy
from ..verdicts import SEVERITY_RANK, VERDICTS
from .ambiguous import AMBIGUOUS, rank
from .buckets import split
from .partial import (
    DEVICE_RULES_MAX,
    EVIDENCE_LINES,
    REQUIRED_KINDS,
    UNEXPECTED_KINDS,
    Partial,
    _sum_by,
    _verdicts_partial,
    destination_expr,
    empty,
    fold,
    merge,
    remote_side,
)
from .schemas import COVERAGE_SCHEMA, FINDINGS_SCHEMA
from .series import MAX_BINS, TimeRange, bin_width, bucket_of, main_range, timeline_series, top_destinations

__all__ = [
    "COVERAGE_SCHEMA",
    "DEVICE_RULES_MAX",
    "EVIDENCE_LINES",
    "FINDINGS_SCHEMA",
    "MAX_BINS",
    "REQUIRED_KINDS",
    "UNEXPECTED_KINDS",
    "Partial",
    "TimeRange",
    "bin_width",
    "bucket_of",
    "coverage",
    "coverage_of",
    "destination_expr",
    "empty",
    "findings",
    "findings_of",
    "fold",
    "main_range",
    "merge",
    "remote_side",
    "result_fields",
    "split",
    "summarize",
    "summary_of",
    "timeline_series",
    "top_destinations",
]


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
        pl.when(pl.col("ambiguous") & (rank("_worst") < rank("severity")))
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


def result_fields(partial: Partial, policy: Policy, baseline: pl.DataFrame | None = None) -> dict:
    """The fields of a check result that come from the merged partial (findings, coverage,
    summary, outside-window count, the partial itself): one definition for every engine. With a
    ``baseline`` (a previous run's findings) the findings are marked new or persisting and the
    baseline's resolved ones follow (:func:`analyzer.baseline.compare`)."""
    found = findings_of(partial)
    return {
        "findings": found if baseline is None else compare(found, baseline),
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
