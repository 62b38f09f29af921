"""One plain-text sentence per finding saying what to change (for OCSF findings and tickets).

:func:`sentence` says it for one finding, as plain Python (the definition, and what the tests
compare with); :func:`finding_remediation` builds the same sentences over a whole findings frame
with polars expressions (a dict per finding and :func:`sentence` took 0.8 s at 144,000 findings,
a third of writing the OCSF findings).
"""

from __future__ import annotations

import polars as pl

from ..policy import MICROSOFT_UPDATE, Policy
from .model import comment_text_expr

REMEDIATION_SCHEMA = pl.Schema({"finding_id": pl.String, "remediation": pl.String})


def _where(f: dict) -> str:
    target = f["host"] or f["address"] or "an unknown destination"
    scheme = f" over {f['scheme']}" if f["scheme"] else ""
    port = f" on port {f['port']}" if f["port"] is not None else ""
    return f"{target}{scheme}{port}"


def sentence(f: dict, policy: Policy) -> str:
    """The sentence of the finding ``f`` (a row of a findings frame, as a dict), before
    ``comment_text``. A value missing from the finding reads ``None``, as Python prints it."""
    servers = policy.site.servers_by_name
    server = servers.get(f["server"])
    who = f"{f['server']} ({', '.join(server.addresses)})" if server else str(f["server"])
    verdict, entry = f["verdict"], f["entry"]
    blocked_by = f"; it was blocked by {f['device_rules']}" if f.get("device_rules") else ""
    if verdict == "blocked-required":
        if server and server.upstream != MICROSOFT_UPDATE:
            up = servers[server.upstream]
            return (
                f"Allow {who} to reach its upstream server {up.name} ({up.fqdn}, {', '.join(up.addresses)})"
                f"{' over ' + f['scheme'] if f['scheme'] else ''} on port {f['port']} (hierarchy pair {entry})"
                f"{blocked_by}; OUTDIR/remediation/ has the rule for each device."
            )
        return (
            f"Allow {who} to reach {_where(f)}, as the allow-list entry {entry} requires{blocked_by}; "
            "OUTDIR/remediation/ has the rule for each device."
        )
    if verdict == "required-failed":
        return (
            f"Required and let through, but it failed beyond the device: check the next proxy or firewall "
            f"between {f['server']} and {_where(f)} (allow-list entry {entry})."
        )
    if verdict == "unexpected-allowed":
        if f["direction"] == "inbound":
            return (
                f"Deny connections from {f['address']} to {f['server']}: WSUS initiates all its traffic, "
                "so nothing from outside needs to reach it."
            )
        return f"Review this flow and deny it unless the site needs it ({f['reason']}): {f['server']} to {_where(f)}."
    if verdict == "unexpected-blocked":
        return f"No change: the device blocks it and the policy does not require it ({f['reason']})."
    if verdict == "unattributed":
        return (
            f"Give DNS evidence (--dns) for {f['address'] or 'the destination'} so the flow can be judged, "
            f"or review it: {f['server']} to {_where(f)}."
        )
    return "No change needed."


def _text(column: str) -> pl.Expr:
    """A finding's value as an f-string prints it: a null is ``None``."""
    return pl.col(column).cast(pl.String).fill_null("None")


def _given(column: str, prefix: str = "") -> pl.Expr:
    """``prefix`` and the value where it is a non-empty text (truthy, as :func:`sentence` tests
    it), else null (left out of a ``concat_str(..., ignore_nulls=True)``)."""
    value = pl.col(column)
    return pl.when(value != "").then(pl.lit(prefix) + value)


def _sentences(policy: Policy, columns: list[str]) -> pl.Expr:
    """:func:`sentence` as one expression over a findings frame with ``columns``."""
    servers = policy.site.servers_by_name
    who = {name: f"{name} ({', '.join(s.addresses)})" for name, s in servers.items()}
    upstream = {}  # server → its upstream, for the servers that synchronize from one of the site
    for name, s in servers.items():
        if s.upstream != MICROSOFT_UPDATE:
            up = servers[s.upstream]
            upstream[name] = f"{up.name} ({up.fqdn}, {', '.join(up.addresses)})"
    server, verdict = _text("server"), pl.col("verdict")
    who_text = pl.col("server").replace_strict(who, default=server, return_dtype=pl.String).fill_null("None")
    if "device_rules" in columns:  # optional, as f.get reads it
        blocked_by = _given("device_rules", "; it was blocked by ").fill_null("")
    else:
        blocked_by = pl.lit("")
    target = pl.coalesce(_given("host"), _given("address"), pl.lit("an unknown destination"))
    on_port = pl.when(pl.col("port").is_not_null()).then(pl.lit(" on port ") + pl.col("port").cast(pl.String))
    where = pl.concat_str(target, _given("scheme", " over "), on_port, ignore_nulls=True)
    rules = "; OUTDIR/remediation/ has the rule for each device."

    def text(*parts: str | pl.Expr) -> pl.Expr:
        return pl.concat_str(*(pl.lit(p) if isinstance(p, str) else p for p in parts))

    to_upstream = text(
        "Allow ",
        who_text,
        " to reach its upstream server ",
        pl.col("server").replace_strict(upstream, default=None, return_dtype=pl.String),
        _given("scheme", " over ").fill_null(""),
        " on port ",
        _text("port"),
        " (hierarchy pair ",
        _text("entry"),
        ")",
        blocked_by,
        rules,
    )
    to_target = text(
        "Allow ",
        who_text,
        " to reach ",
        where,
        ", as the allow-list entry ",
        _text("entry"),
        " requires",
        blocked_by,
        rules,
    )
    inbound = pl.col("direction") == "inbound"
    return (
        pl.when(verdict == "blocked-required")
        .then(pl.when(pl.col("server").is_in(list(upstream))).then(to_upstream).otherwise(to_target))
        .when(verdict == "required-failed")
        .then(
            text(
                "Required and let through, but it failed beyond the device: check the next proxy or firewall between ",
                server,
                " and ",
                where,
                " (allow-list entry ",
                _text("entry"),
                ").",
            )
        )
        .when((verdict == "unexpected-allowed") & inbound)
        .then(
            text(
                "Deny connections from ",
                _text("address"),
                " to ",
                server,
                ": WSUS initiates all its traffic, so nothing from outside needs to reach it.",
            )
        )
        .when(verdict == "unexpected-allowed")
        .then(
            text(
                "Review this flow and deny it unless the site needs it (",
                _text("reason"),
                "): ",
                server,
                " to ",
                where,
                ".",
            )
        )
        .when(verdict == "unexpected-blocked")
        .then(text("No change: the device blocks it and the policy does not require it (", _text("reason"), ")."))
        .when(verdict == "unattributed")
        .then(
            text(
                "Give DNS evidence (--dns) for ",
                pl.coalesce(_given("address"), pl.lit("the destination")),
                " so the flow can be judged, or review it: ",
                server,
                " to ",
                where,
                ".",
            )
        )
        .otherwise(pl.lit("No change needed."))
    )


def finding_remediation(findings: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """``finding_id, remediation``: one plain-text sentence per finding saying what to change
    (the rule that fixes a blocked-required finding, that an unexpected flow should be reviewed
    or denied, ...): :func:`sentence` of each, through ``comment_text`` (text from logs is
    reduced to printable ASCII), computed over the whole frame.

    Example: ``finding_remediation(result.findings, result.policy)``.
    """
    printable = comment_text_expr(_sentences(policy, findings.columns))
    return findings.select("finding_id", printable.alias("remediation")).cast(REMEDIATION_SCHEMA)
