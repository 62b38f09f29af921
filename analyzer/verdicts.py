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

Findings, coverage and the summary are aggregates of judged flows: see :mod:`analyzer.aggregates`.
"""

from __future__ import annotations

import polars as pl

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
