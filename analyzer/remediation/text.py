"""One plain-text sentence per finding saying what to change (for OCSF findings and tickets)."""

from __future__ import annotations

import polars as pl

from ..policy import MICROSOFT_UPDATE, Policy
from .model import comment_text

REMEDIATION_SCHEMA = pl.Schema({"finding_id": pl.String, "remediation": pl.String})


def _where(f: dict) -> str:
    target = f["host"] or f["address"] or "an unknown destination"
    scheme = f" over {f['scheme']}" if f["scheme"] else ""
    port = f" on port {f['port']}" if f["port"] is not None else ""
    return f"{target}{scheme}{port}"


def _sentence(f: dict, policy: Policy) -> str:
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


def finding_remediation(findings: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """``finding_id, remediation``: one plain-text sentence per finding saying what to change
    (the rule that fixes a blocked-required finding, that an unexpected flow should be reviewed
    or denied, ...). Text from logs is reduced to printable ASCII.

    Example: ``finding_remediation(result.findings, result.policy)``.
    """
    rows = [(f["finding_id"], comment_text(_sentence(f, policy))) for f in findings.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=REMEDIATION_SCHEMA, orient="row")
