"""Verdicts: what each in-scope flow means for compliance, grouped into findings and coverage.

The verdict kinds, their severities and descriptions, and the reasons are declared here as data,
once. A verdict follows from the match (:mod:`analyzer.match`: ``reason_code``) and the device's
action: a required flow that was blocked is ``blocked-required``, an unexpected one that passed is
``unexpected-allowed``, and so on.

Choices beyond the issue text, documented here and in the README:

- ``permitted`` (severity none): flows to the site's own ``[[allow]]`` destinations, and clients
  opening connections to a server's WSUS ports from the site's ``client_networks``. They are
  expected, not required, and not findings to act on.
- ``auth-required`` (severity none): Squid 407 challenges are neither blocks nor passes; they are
  counted and reported, and the retried request gets its own verdict.
- Out-of-scope flows keep ``verdict`` null; the summary counts them as ``out-of-scope``.
"""

from __future__ import annotations

import hashlib

import polars as pl

from .match import _fits, match_hosts
from .policy import Policy

SEVERITIES = ("high", "medium", "low", "info")
"""Ranked, most severe first. Verdicts that need no action have severity ``"none"``."""
SEVERITY_RANK = {s: i for i, s in enumerate((*SEVERITIES, "none"))}

VERDICTS: dict[str, tuple[str, str]] = {
    "blocked-required": ("high", "required by the policy, and the device blocked it"),
    "required-failed": (
        "medium",
        "required, let through by the device, but it failed beyond it (a sign of another block further out)",
    ),
    "unexpected-allowed": ("medium", "not required by the policy, and the device let it through"),
    "unattributed": ("low", "an IP-only flow that no evidence ties to a host name; not judged"),
    "unexpected-blocked": ("info", "not required by the policy, and the device blocked it"),
    "required-allowed": ("none", "required by the policy, and the device let it through"),
    "permitted": ("none", "expected but not required: the site's own [[allow]] list or client service traffic"),
    "auth-required": ("none", "a proxy authentication challenge (407): neither a block nor a pass"),
}
"""Verdict → (severity, description)."""

REASONS: dict[str, str] = {
    "required-entry": "required: the server synchronizes from Microsoft Update and the allow-list entry covers it",
    "required-hierarchy": "required: synchronization with the upstream server on the WSUS ports",
    "permitted": "a destination the site's [[allow]] list adds",
    "client-service": "a client connecting to the update server's WSUS port",
    "not-listed": "destination not in the allow-list",
    "scheme-port": "host listed but not over this scheme or port",
    "not-required-here": "an allow-list host, but this server synchronizes from an upstream server, not Microsoft",
    "inbound": "connection opened from outside towards a server (WSUS initiates all its traffic)",
    "against-sync": "hierarchy flow against the direction of synchronization",
    "other-role": "a Microsoft update endpoint of another role (wu-client, delivery-optimization), not in the profile",
    "no-evidence": "IP-only flow that no evidence ties to a host name",
    "no-destination": "the log line names no destination (no host, no address), e.g. a proxy error line",
    "auth": "proxy authentication challenge (407): neither a block nor a pass; the retried request is judged",
    "out-of-scope": "out of scope: neither source nor destination is an update server",
}
"""Reason code → the reason in words (the ``reason`` column holds the words)."""

_REQUIRED = ("required-entry", "required-hierarchy")
_PERMITTED = ("permitted", "client-service")

VERDICT_COLUMNS = ("verdict", "reason", "severity", "reason_code", "entry")


def judge(matched: pl.DataFrame) -> pl.DataFrame:
    """Add ``verdict``, ``reason`` and ``severity`` to matched flows (see :func:`analyzer.match.match`).

    Example: ``judge(match(scope(flows, site), policy)).group_by("verdict").len()``.
    """
    code = pl.col("reason_code")
    action = pl.col("action").cast(pl.String)
    blocked, failed = action == "blocked", action == "failed"
    in_scope = pl.col("server").is_not_null()
    verdict = (
        pl.when(~in_scope)
        .then(pl.lit(None, pl.String))
        .when(action == "auth-required")
        .then(pl.lit("auth-required"))
        .when(code.is_in(_REQUIRED))
        .then(
            pl.when(blocked)
            .then(pl.lit("blocked-required"))
            .when(failed)
            .then(pl.lit("required-failed"))
            .otherwise(pl.lit("required-allowed"))
        )
        .when(code.is_in(_PERMITTED))
        .then(pl.lit("permitted"))
        .when(code.is_in(("no-evidence", "no-destination")))
        .then(pl.lit("unattributed"))
        .when(blocked)
        .then(pl.lit("unexpected-blocked"))
        .otherwise(pl.lit("unexpected-allowed"))
    )
    final_code = (
        pl.when(~in_scope)
        .then(pl.lit("out-of-scope"))
        .when(action == "auth-required")
        .then(pl.lit("auth"))
        .otherwise(code)
    )
    out = matched.with_columns(verdict.alias("verdict"), final_code.alias("reason_code"))
    severity = {v: s for v, (s, _) in VERDICTS.items()}
    return out.with_columns(
        pl.col("reason_code").replace_strict(REASONS, default=None, return_dtype=pl.String).alias("reason"),
        pl.col("verdict").replace_strict(severity, default="none", return_dtype=pl.String).alias("severity"),
    )


def summarize(judged: pl.DataFrame) -> dict[str, int]:
    """Count of flows per verdict, every kind listed (0 when absent), plus ``out-of-scope``."""
    # Counted on the column alone: a group-by of the whole frame took seconds on 5M flows.
    counts = judged.get_column("verdict").value_counts()
    got = {v: int(n) for v, n in counts.iter_rows()}
    summary = {v: got.get(v, 0) for v in VERDICTS}
    summary["out-of-scope"] = got.get(None, 0)
    return summary


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
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "evidence": pl.List(pl.Struct({"file": pl.String, "line": pl.Int64})),
    }
)

EVIDENCE_LINES = 5
DEVICE_RULES_MAX = 10
CANDIDATES_MAX = 10
AMBIGUOUS = "ambiguous attribution: the address stood for names that get different verdicts; severity is the worst case"


def _ambiguity_aggs(schema: pl.Schema) -> list[pl.Expr]:
    """Per finding, what :func:`analyzer.ambiguity.mark` found in its flows: whether any was
    ambiguous, the candidates with their verdicts, the worst severity among them; and how its
    hosts are known (``evidence_source``: log, dns, proxy, session). A step of its own, so a
    streaming check can aggregate it the same way."""
    source = pl.col("host_source").cast(pl.String).drop_nulls().unique().sort().str.join(", ")
    if "attribution" not in schema:
        return [
            source.alias("evidence_source"),
            pl.lit(False).alias("ambiguous"),
            pl.lit(None, pl.String).alias("candidates"),
            pl.lit(None, pl.String).alias("_worst"),
        ]
    return [
        source.alias("evidence_source"),
        (pl.col("attribution") == "ambiguous").any().fill_null(False).alias("ambiguous"),
        pl.col("candidates").drop_nulls().unique().sort().head(CANDIDATES_MAX).str.join(" | ").alias("candidates"),
        pl.col("worst_severity")
        .sort_by(
            pl.col("worst_severity").replace_strict(SEVERITY_RANK, default=None, return_dtype=pl.Int32),
            nulls_last=True,
        )
        .first()
        .alias("_worst"),
    ]


def findings(judged: pl.DataFrame) -> pl.DataFrame:
    """Group in-scope flows into findings: by server, direction, remote host (or address), port,
    scheme and verdict, with count, first/last seen, reason, ``entry`` (the allow-list entry or
    hierarchy pair), ``device_rules`` (device: rule seen deciding) and up to 5 evidence lines.

    For inbound findings the remote side is the source: ``host`` is null and ``address`` is the
    source address. Sorted by severity, server, host, port, scheme (stable across runs).
    """
    # Lazy, so only the columns the findings use are filtered and sorted (not every flow column).
    inscope = judged.lazy().filter(pl.col("verdict").is_not_null())
    inbound = pl.col("direction_to_server") == "inbound"
    grouped = (
        inscope.with_columns(
            pl.when(inbound).then(pl.lit(None, pl.String)).otherwise(pl.col("dst_host")).alias("_host"),
            pl.when(inbound)
            .then(pl.col("src_ip"))
            .when(pl.col("dst_host").is_null())
            .then(pl.col("dst_ip"))
            .alias("_addr_key"),
            pl.concat_str([pl.col("device"), pl.col("rule")], separator=": ", ignore_nulls=True).alias("_dr"),
        )
        .sort("time", "source_file", "line_no", nulls_last=True)
        .group_by(["server", "direction_to_server", "verdict", "_host", "_addr_key", "dst_port", "scheme"])
        .agg(
            pl.col("severity").first(),
            pl.col("reason").first(),
            pl.col("entry").drop_nulls().first(),
            pl.col("_dr").drop_nulls().filter(pl.col("_dr") != "").unique().sort().alias("_drs"),
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("time").min().alias("first_seen"),
            pl.col("time").max().alias("last_seen"),
            pl.col("dst_ip").drop_nulls().sort().first().alias("_first_ip"),
            pl.struct(pl.col("source_file").alias("file"), pl.col("line_no").alias("line"))
            .head(EVIDENCE_LINES)
            .alias("evidence"),
            *_ambiguity_aggs(inscope.collect_schema()),
        )
        .collect()
    )
    # An ambiguous finding is as severe as its worst plausible case, and says so in its reason.
    own, worst = (
        pl.col(c).replace_strict(SEVERITY_RANK, default=None, return_dtype=pl.Int32) for c in ("severity", "_worst")
    )
    grouped = grouped.with_columns(
        pl.when(pl.col("ambiguous") & (worst < own))
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
        pl.when(pl.col("_drs").list.len() > 0)
        .then(pl.col("_drs").list.head(DEVICE_RULES_MAX).list.join("; "))
        .alias("device_rules"),
        pl.when(pl.col("evidence_source") != "").then(pl.col("evidence_source")).alias("evidence_source"),
        pl.col("ambiguous"),
        pl.when(pl.col("candidates") != "").then(pl.col("candidates")).alias("candidates"),
        pl.col("count"),
        pl.col("first_seen"),
        pl.col("last_seen"),
        pl.col("evidence"),
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


def _finding_id(row: tuple) -> str:
    """A stable id from what identifies a finding (the same finding gets the same id in every run)."""
    text = "|".join("" if v is None else str(v) for v in row)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


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


def coverage(judged: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Every required entry and hierarchy pair, per server: ``seen-allowed``, ``seen-blocked`` or
    ``never-seen``, with counts of allowed, blocked and failed flows and first/last seen.

    A flow counts for every required entry that covers it (``download.windowsupdate.com`` exercises
    both ``http://download.windowsupdate.com`` and ``http://*.windowsupdate.com``).
    """
    required = policy.required.with_row_index("_req")
    # Lazy, so only the grouped columns are filtered (not every flow column).
    agg = (
        judged.lazy()
        .filter(pl.col("verdict").is_in(["required-allowed", "blocked-required", "required-failed"]))
        .group_by("server", "reason_code", "dst_host", "scheme", "dst_port")
        .agg(
            (pl.col("verdict") == "required-allowed").sum().cast(pl.Int64).alias("allowed"),
            (pl.col("verdict") == "blocked-required").sum().cast(pl.Int64).alias("blocked"),
            (pl.col("verdict") == "required-failed").sum().cast(pl.Int64).alias("failed"),
            pl.col("time").min().alias("first_seen"),
            pl.col("time").max().alias("last_seen"),
        )
        .collect()
    )
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
    seen = (
        pl.concat(
            [f.select("_req", "allowed", "blocked", "failed", "first_seen", "last_seen") for f in (by_entry, by_pair)]
        )
        .group_by("_req")
        .agg(
            pl.col("allowed").sum(),
            pl.col("blocked").sum(),
            pl.col("failed").sum(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
        )
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
