"""The shapes of the check's final frames: one row per finding, one per required entry and server."""

from __future__ import annotations

import polars as pl

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
