"""What-if: the recorded flows of a check judged again under a changed policy.

Reads the flows a check wrote (``OUTDIR/flows.parquet``, a check result, or a frame of them; no
log is read again), reduces them to the distinct values judging looks at, judges those with the
same functions the check uses (:func:`analyzer.check.check_flows`) and compares: finding groups
whose verdict moves (required-allowed → unexpected-allowed: *would break*; unexpected-allowed →
required-allowed: *would become required*; ...), the entries that changed between the policies
with the flows they touch, and the required flows added (never seen: *would need opening*) or
removed.

Example::

    today = run_check(["data/samples"], "data/samples/site.toml")
    result = whatif(today, load_policy("data/samples/site.toml", profile="wsus-2025"))
    result.changes.filter(pl.col("outcome") == "would break")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .aggregates import coverage, remote_side
from .check import check_flows
from .errors import AnalyzerError
from .flows import FLOW_SCHEMA, conform_flows
from .match import match_hosts
from .policy import Policy, diff_profiles
from .policy.patterns import parse_host

OUTCOMES = {
    "would break": "allowed today as required or permitted; the other policy does not allow it, so a device "
    "following it would block it",
    "would become required": "allowed today though not required; the other policy requires it",
    "would need opening": "blocked today and not required; the other policy requires it",
    "would no longer be required": "required today; the other policy does not require it",
    "would become permitted": "unexpected today; the other policy permits it",
    "would become unexpected": "required or permitted today but blocked; the other policy does not allow it either",
    "comes into scope": "not about an update server today; it is under the other site",
    "leaves scope": "about an update server today; not under the other site",
    "other change": "the verdict moves in another way",
}
"""Outcome of a verdict move → what it means."""

_JUDGED = ("src_ip", "dst_host", "dst_ip", "dst_port", "scheme", "protocol", "action")
"""The flow columns scope, match and the verdict read: flows equal in these are judged alike."""
_RECORDED = ("server", "direction_to_server", "verdict", "entry")

CHANGES_SCHEMA = pl.Schema(
    {
        "outcome": pl.String,
        "server": pl.String,
        "direction": pl.String,
        "host": pl.String,
        "address": pl.String,
        "port": pl.Int32,
        "scheme": pl.String,
        "before": pl.String,
        "after": pl.String,
        "entry_before": pl.String,
        "entry_after": pl.String,
        "flows": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
    }
)
"""One row per finding group whose verdict moves: grouped as findings are (server, direction,
remote host, port, scheme), ``address`` the remote address where there is no host (the source of
an inbound connection), ``before``/``after`` the verdicts, ``flows`` how many."""


@dataclass(frozen=True)
class WhatIf:
    """The comparison of two policies over the same flows.

    - ``changes``: finding groups whose verdict moves (:data:`CHANGES_SCHEMA`), with ``outcome``
      (one of :data:`OUTCOMES`) and the number of flows;
    - ``entries``: per changed host pattern (or setting), ``change``, ``before``, ``after``, the
      ``flows`` it touches and ``touched`` (which, and how their verdict moves);
    - ``required``: required flows only one policy has: ``change`` (``newly required`` or
      ``no longer required``), ``server, entry, kind, scheme, port`` and ``status`` (coverage
      under the policy that requires it) and ``outcome``.

    Example: ``whatif(result, load_policy("site.toml", profile="wsus-2025")).entries``.
    """

    before: Policy
    after: Policy
    changes: pl.DataFrame
    entries: pl.DataFrame
    required: pl.DataFrame

    def _repr_html_(self) -> str:
        # polars escapes the cells of its HTML tables.
        parts = [f"<h4>{name}</h4>{getattr(self, name)._repr_html_()}" for name in ("entries", "changes", "required")]
        return "".join(parts)


def _source(source, before: Policy | None) -> tuple[pl.LazyFrame, Policy, bool]:
    """(flows, the policy they are judged under before, whether their verdicts are recorded)."""
    if hasattr(source, "flows") and hasattr(source, "policy"):  # a CheckResult
        return source.flows.lazy(), before or source.policy, before is None
    if isinstance(source, str | Path):
        from .outdir import is_outdir, load_outdir

        path = Path(source)
        if is_outdir(path):
            recorded = load_outdir(path)
            return recorded.flows, before or recorded.policy, before is None
        if path.suffix == ".parquet" and path.is_file():
            if before is None:
                raise AnalyzerError(f"{path}: give before= (the policy these flows were judged under)")
            return pl.scan_parquet(path, glob=False), before, False
        raise AnalyzerError(f"{path}: neither a check's OUTDIR nor a flows .parquet file")
    if isinstance(source, pl.DataFrame | pl.LazyFrame):
        if before is None:
            raise AnalyzerError("give before= (the policy the flows are judged under today)")
        return source.lazy(), before, False
    raise AnalyzerError(f"cannot judge flows from {type(source).__name__}")


def _distinct(flows: pl.LazyFrame, recorded: bool) -> pl.DataFrame:
    """The flows reduced to the values judging reads (plus the recorded verdict), with their
    number and first and last time: judging these is judging every flow."""
    names = flows.collect_schema().names()
    keys = [c for c in _JUDGED if c in names] + ([c for c in _RECORDED if c in names] if recorded else [])
    if recorded and "verdict" not in keys:
        raise AnalyzerError("these flows carry no verdict: are they the flows.parquet of 'analyzer check'?")
    grouped = (
        flows.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("_n"),
            pl.col("time").min().alias("_first"),
            pl.col("time").max().alias("_last"),
        )
        .collect()
    )
    return grouped.with_columns(pl.col("_first").alias("time"))


def _judge(rows: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Each row judged under ``policy`` by the check's own functions (the rows' order kept)."""
    return check_flows(conform_flows(rows.select([c for c in rows.columns if c in FLOW_SCHEMA])), policy)


def _named(judged: pl.DataFrame, suffix: str) -> pl.DataFrame:
    """``server, direction, verdict, entry`` of judged rows, named with ``suffix``."""
    return judged.select(
        pl.col("server").alias(f"server{suffix}"),
        pl.col("direction_to_server").alias(f"direction{suffix}"),
        pl.col("verdict").alias(f"verdict{suffix}"),
        pl.col("entry").alias(f"entry{suffix}"),
    )


def _outcome(before: pl.Expr, after: pl.Expr) -> pl.Expr:
    allowed = ["required-allowed", "required-failed", "permitted"]
    required = ["required-allowed", "required-failed", "blocked-required"]
    unexpected = ["unexpected-allowed", "unexpected-blocked"]
    return (
        pl.when(before.is_null())
        .then(pl.lit("comes into scope"))
        .when(after.is_null())
        .then(pl.lit("leaves scope"))
        .when(before.is_in(allowed) & (after == "unexpected-allowed"))
        .then(pl.lit("would break"))
        .when((before == "unexpected-allowed") & after.is_in(required))
        .then(pl.lit("would become required"))
        .when((before == "unexpected-blocked") & after.is_in(required))
        .then(pl.lit("would need opening"))
        .when(before.is_in(required) & after.is_in(unexpected))
        .then(pl.lit("would no longer be required"))
        .when(before.is_in(unexpected) & (after == "permitted"))
        .then(pl.lit("would become permitted"))
        .when(before.is_in(allowed) & (after == "unexpected-blocked"))
        .then(pl.lit("would become unexpected"))
        .otherwise(pl.lit("other change"))
    )


def _changes(rows: pl.DataFrame) -> pl.DataFrame:
    direction = pl.coalesce("direction_after", "direction_before")
    host, address = remote_side(direction)
    moved = rows.filter(pl.col("verdict_before").ne_missing(pl.col("verdict_after")))
    grouped = (
        moved.with_columns(
            pl.coalesce("server_after", "server_before").alias("server"),
            direction.alias("direction"),
            host.alias("host"),
            address.alias("address"),
            pl.col("dst_port").alias("port"),
        )
        .group_by("server", "direction", "host", "address", "port", "scheme", "verdict_before", "verdict_after")
        .agg(
            pl.col("entry_before").drop_nulls().first(),
            pl.col("entry_after").drop_nulls().first(),
            pl.col("_n").sum().alias("flows"),
            pl.col("_first").min().alias("first_seen"),
            pl.col("_last").max().alias("last_seen"),
        )
        .with_columns(_outcome(pl.col("verdict_before"), pl.col("verdict_after")).alias("outcome"))
        .rename({"verdict_before": "before", "verdict_after": "after"})
    )
    order = {o: i for i, o in enumerate(OUTCOMES)}
    return (
        grouped.with_columns(pl.col("outcome").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
        .sort("_o", "server", "host", "address", "port", "scheme", "before", "after", nulls_last=True)
        .select(list(CHANGES_SCHEMA))
        .cast(dict(CHANGES_SCHEMA))
    )


def _setting_rows(before: Policy, after: Policy) -> list[dict]:
    rows = []
    for label, a, b in (
        ("profile", before.profile.name, after.profile.name),
        ("wildcard mode", before.wildcard, after.wildcard),
        ("WSUS web site", before.site.wsus_web_site, after.site.wsus_web_site),
    ):
        if a != b:
            rows.append({"host": f"({label})", "change": f"{label} changed", "before": a, "after": b})
    return rows


def _entries(rows: pl.DataFrame, before: Policy, after: Policy) -> pl.DataFrame:
    """Changed host patterns and settings, with the flows each pattern covers (in either policy)."""
    diff = diff_profiles(before.profile, after.profile)
    patterns = pl.DataFrame(
        [
            {"entry_id": i, "kind": p.kind, "base": p.base, "regex": p.regex}
            for i, p in enumerate(parse_host(d["host"]) for d in diff)
        ],
        schema={"entry_id": pl.Int32, "kind": pl.String, "base": pl.String, "regex": pl.String},
    )
    in_scope = rows.filter(pl.col("verdict_before").is_not_null() | pl.col("verdict_after").is_not_null())
    hosts = in_scope["dst_host"]
    hits = pl.concat([match_hosts(hosts, patterns, mode) for mode in {before.wildcard, after.wildcard}]).unique()
    touched = (
        in_scope.join(hits, left_on="dst_host", right_on="host")
        .with_columns(
            pl.format(
                "{} {}:{} {}: {} -> {} ({})",
                pl.coalesce("server_after", "server_before").fill_null("-"),
                pl.col("dst_host"),
                pl.col("dst_port").cast(pl.String).fill_null("-"),
                pl.col("scheme").fill_null("-"),
                pl.col("verdict_before").fill_null("out-of-scope"),
                pl.col("verdict_after").fill_null("out-of-scope"),
                pl.col("_n"),
            ).alias("_what")
        )
        .group_by("entry_id", "_what")
        .agg(pl.col("_n").sum())
        .sort("entry_id", "_what")
        .group_by("entry_id", maintain_order=True)
        .agg(pl.col("_n").sum().alias("flows"), pl.col("_what").str.join("; ").alias("touched"))
    )
    table = pl.DataFrame(
        [{"entry_id": i, **d} for i, d in enumerate(diff)],
        schema={"entry_id": pl.Int32, "host": pl.String, "change": pl.String, "before": pl.String, "after": pl.String},
    ).join(touched, on="entry_id", how="left", maintain_order="left")
    table = table.with_columns(pl.col("flows").fill_null(0).cast(pl.Int64), pl.col("touched").fill_null(""))
    text = {"host": pl.String, "change": pl.String, "before": pl.String, "after": pl.String}
    settings = pl.DataFrame(_setting_rows(before, after), schema=text)
    # Settings touch every flow they move; the verdict moves say which.
    return pl.concat([settings, table.drop("entry_id")], how="diagonal_relaxed")


REQUIRED_KEY = ("server", "entry", "kind", "scheme", "port")


def _required(judged: tuple[pl.DataFrame, pl.DataFrame], before: Policy, after: Policy) -> pl.DataFrame:
    """Required flows only one of the policies has, with their coverage (status only: the rows are
    distinct flows) under the policy that requires them."""
    was = coverage(judged[0], before).select(*REQUIRED_KEY, "status")
    now = coverage(judged[1], after).select(*REQUIRED_KEY, "status")
    added = now.join(was.select(REQUIRED_KEY), on=list(REQUIRED_KEY), how="anti", nulls_equal=True)
    removed = was.join(now.select(REQUIRED_KEY), on=list(REQUIRED_KEY), how="anti", nulls_equal=True)
    need = (
        pl.when(pl.col("status") == "seen-allowed")
        .then(pl.lit("already reached"))
        .otherwise(pl.format("would need opening ({})", pl.col("status").str.replace("-", " ")))
    )
    return pl.concat(
        [
            added.with_columns(pl.lit("newly required").alias("change"), need.alias("outcome")),
            removed.with_columns(
                pl.lit("no longer required").alias("change"), pl.lit("no longer required").alias("outcome")
            ),
        ]
    ).select("change", *REQUIRED_KEY, "status", "outcome")


def whatif(source, after: Policy, *, before: Policy | None = None) -> WhatIf:
    """Judge recorded flows again under ``after`` and compare with ``before``.

    ``source`` is a :class:`~analyzer.check.CheckResult`, a check's OUTDIR (its flows.parquet
    and findings.json), a flows ``.parquet`` file or a frame of flows. ``before`` defaults to the
    policy the check used, whose verdicts are then taken as recorded; given, the flows are judged
    under it too (a frame or a bare file needs it). Example::

        whatif("out", load_policy("site.toml", profile="wsus-2025")).changes
    """
    flows, before_policy, recorded = _source(source, before)
    rows = _distinct(flows, recorded)
    if recorded:
        rows = rows.rename({c: f"{c if c != 'direction_to_server' else 'direction'}_before" for c in _RECORDED})
    judged = (_judge(rows, before_policy), _judge(rows, after))
    named = [_named(judged[1], "_after")] if recorded else [_named(judged[0], "_before"), _named(judged[1], "_after")]
    rows = pl.concat([rows, *named], how="horizontal")
    return WhatIf(
        before=before_policy,
        after=after,
        changes=_changes(rows),
        entries=_entries(rows, before_policy, after),
        required=_required(judged, before_policy, after),
    )


__all__ = ["CHANGES_SCHEMA", "OUTCOMES", "WhatIf", "whatif"]
