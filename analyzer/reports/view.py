"""What the human-readable reports show, computed once from a check result.

The HTML and Markdown reports render the same view with different templates, so they always
agree. Values here are plain data (strings, numbers, lists, dicts); log text stays untouched and
each template escapes it for its own language (jinja2 autoescape for HTML, :mod:`.escape` for
Markdown). Times are shown in the site's time zone, the clock the readers live by.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from ..aggregates import main_range
from ..baseline import changes
from ..verdicts import SEVERITIES, VERDICTS
from .charts import CHARTS

REQUIRED_PROBLEMS = ("blocked-required", "required-failed")
UNEXPECTED = ("unexpected-allowed", "unattributed", "unexpected-blocked")  # by severity
VERDICT_ORDER = (
    "blocked-required",
    "required-failed",
    "unexpected-allowed",
    "unattributed",
    "unexpected-blocked",
    "required-allowed",
    "permitted",
    "auth-required",
    "out-of-scope",
)
SECTIONS = {
    "glance": "Verdict at a glance",
    "blocked": "Required traffic blocked or failing",
    "unexpected": "Unexpected traffic",
    "ambiguous": "Ambiguous attribution",
    "resolved": "Resolved since the baseline",
    "coverage": "Coverage of required entries",
    "inputs": "Inputs",
    "policy": "Policy",
}
"""Section id → title, in reading order: the answer first, then evidence, then detail."""


def _fmt_time(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _finding(row: dict, zone: ZoneInfo) -> dict:
    evidence = row.get("evidence") or []
    return {
        "id": row.get("finding_id"),
        "verdict": row.get("verdict"),
        "severity": row.get("severity"),
        "server": row.get("server"),
        "direction": row.get("direction"),
        "destination": row.get("host") or row.get("address") or "",
        "host": row.get("host"),
        "address": row.get("address"),
        "port": row.get("port"),
        "scheme": row.get("scheme"),
        "reason": row.get("reason"),
        # The check's ``rule`` is the policy's: the allow-list entry or hierarchy pair involved;
        # ``device_rules`` are the firewall rules or proxy ACLs that decided ("device: rule").
        "entry": row.get("entry"),
        "device_rules": row.get("device_rules"),
        # How the destination's name is known (log, dns, proxy, session), and, when the address
        # stood for names that get different verdicts, each candidate with its verdict.
        "evidence_source": row.get("evidence_source"),
        "ambiguous": bool(row.get("ambiguous")),
        "candidates": (row.get("candidates") or "").split(" | ") if row.get("candidates") else [],
        "count": row.get("count") or 0,
        "first_seen": _fmt_time(row.get("first_seen"), zone),
        "last_seen": _fmt_time(row.get("last_seen"), zone),
        "evidence": [f"{e['file']}:{e['line']}" for e in evidence if e],
        "status": str(row["status"]) if row.get("status") is not None else None,
    }


def _ordered(findings: pl.DataFrame) -> pl.DataFrame:
    # Most severe first, then most frequent; finding_id last so ties are stable across runs.
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return findings.with_columns(
        pl.col("severity").cast(pl.String).replace_strict(rank, default=len(rank), return_dtype=pl.Int32).alias("_rank")
    ).sort(["_rank", "count", "finding_id"], descending=[False, True, False], nulls_last=True)


def _profile(policy) -> dict:
    profile = getattr(policy, "profile", None)
    return {key: getattr(profile, key, None) for key in ("name", "title", "document", "version", "url")}


def _servers(policy) -> list[dict]:
    site = getattr(policy, "site", None)
    servers = getattr(site, "servers", None) or []
    out = []
    for server in servers:
        addresses = getattr(server, "addresses", ()) or ()
        out.append(
            {
                "name": getattr(server, "name", None),
                "fqdn": getattr(server, "fqdn", None),
                "addresses": ", ".join(str(a) for a in addresses),
                "role": getattr(server, "role", None),
                "upstream": getattr(server, "upstream", None),
            }
        )
    return out


def _inputs(read, zone: ZoneInfo) -> dict:
    files = []
    for f in read.files:
        files.append(
            {
                "file": f.file,
                "format": f.format or f.status,
                "lines": f.lines,
                "flows": f.records,
                "rejects": f.rejects,
                "skipped": f.skipped_total,
                "first_reject": f.first_reject_line,
            }
        )
    return {
        "files": files,
        "lines": sum(f.lines for f in read.files),
        "flows": sum(f.records for f in read.files),
        "rejects": sum(f.rejects for f in read.files),
        "skipped": sum(f.skipped_total for f in read.files),
    }


def _coverage(coverage: pl.DataFrame, zone: ZoneInfo) -> list[dict]:
    servers: dict[str, dict] = {}
    order = {"seen-blocked": 0, "never-seen": 1, "seen-allowed": 2}
    ranked = coverage.with_columns(
        pl.col("status").cast(pl.String).replace_strict(order, default=3, return_dtype=pl.Int32).alias("_rank")
    ).sort(["server", "_rank", "entry", "scheme", "port"], nulls_last=True)
    for row in ranked.iter_rows(named=True):
        server = servers.setdefault(
            row["server"], {"name": row["server"], "entries": [], "counts": dict.fromkeys(order, 0)}
        )
        status = str(row["status"])
        server["counts"][status] = server["counts"].get(status, 0) + 1
        server["entries"].append(
            {
                "entry": row.get("entry"),
                "kind": row.get("kind"),
                "scheme": row.get("scheme"),
                "port": row.get("port"),
                "status": status,
                "allowed": row.get("allowed") or 0,
                "blocked": row.get("blocked") or 0,
                "failed": row.get("failed") or 0,
                "first_seen": _fmt_time(row.get("first_seen"), zone),
                "last_seen": _fmt_time(row.get("last_seen"), zone),
            }
        )
    return list(servers.values())


def build(result, *, charts: dict[str, bytes] | None = None) -> dict:
    """The view of a check result for the report templates.

    ``charts`` maps chart names to PNG bytes (the HTML embeds them; Markdown links the files).
    Example: ``build(result)["glance"]["severity"]["high"]``.
    """
    zone = ZoneInfo(result.timezone)
    findings = _ordered(result.findings)
    status = pl.col("status").cast(pl.String) if "status" in findings.columns else pl.lit(None, pl.String)
    current = findings.filter(status.is_null() | (status != "resolved"))
    resolved = findings.filter(status == "resolved") if "status" in findings.columns else findings.clear()
    severity = dict.fromkeys(SEVERITIES, 0)
    for sev, n in current.group_by("severity").len().iter_rows():
        if sev in severity:
            severity[sev] = n
    listed = [v for v in VERDICT_ORDER if v in result.summary] + sorted(
        v for v in result.summary if v not in VERDICT_ORDER
    )
    verdicts = [
        {
            "verdict": v,
            "flows": int(result.summary[v]),
            "severity": VERDICTS.get(v, ("none", ""))[0],
            "description": VERDICTS.get(v, ("", "neither source nor destination is an update server"))[1],
        }
        for v in listed
    ]
    first, last = result.aggregates.time_range()
    drawn = main_range(result.aggregates.minutes)
    by_verdict = {
        v: [_finding(r, zone) for r in current.filter(pl.col("verdict") == v).iter_rows(named=True)]
        for v in VERDICT_ORDER
    }
    blocked = [f for v in REQUIRED_PROBLEMS for f in by_verdict.get(v, [])]
    unexpected = [f for v in UNEXPECTED for f in by_verdict.get(v, [])]
    diff = changes(findings)
    has_baseline = "status" in findings.columns
    window = getattr(result, "window", None)
    return {
        "title": "Update server traffic compliance report",
        "window": window.describe() if window else None,
        "outside_window": int(getattr(result, "outside_window", 0) or 0),
        "sections": SECTIONS,
        "timezone": result.timezone,
        "time_range": {"first": _fmt_time(first, zone), "last": _fmt_time(last, zone)},
        # The timeline draws the main range only: say how many flows it leaves out, and where it is.
        "timeline_range": {
            "first": _fmt_time(drawn.first, zone),
            "last": _fmt_time(drawn.last, zone),
            "outside": drawn.outside,
            "outside_required": drawn.outside_required,
        },
        "glance": {
            "severity": severity,
            "findings": current.filter(pl.col("severity").is_in(list(SEVERITIES))).height,
            "verdicts": verdicts,
            "blocked_required": sum(f["count"] for f in by_verdict["blocked-required"]),
            "blocked_findings": len(by_verdict["blocked-required"]),
            "failed_findings": len(by_verdict["required-failed"]),
            "unexpected_allowed": sum(f["count"] for f in by_verdict["unexpected-allowed"]),
            "unexpected_allowed_findings": len(by_verdict["unexpected-allowed"]),
            "never_seen": coverage_never_seen(result.coverage),
            "auth_required": int(result.summary.get("auth-required", 0)),
            "baseline": has_baseline,
            "changes": diff,
        },
        "blocked": blocked,
        "unexpected": unexpected,
        "ambiguous": [_finding(r, zone) for r in current.filter(pl.col("ambiguous")).iter_rows(named=True)]
        if "ambiguous" in current.columns
        else [],
        "resolved": [_finding(r, zone) for r in resolved.iter_rows(named=True)],
        "coverage": _coverage(result.coverage, zone),
        "inputs": _inputs(result.read, zone),
        "rejects": result.read.rejects.height,
        "profile": _profile(result.policy),
        "wildcard": getattr(result.policy, "wildcard", None),
        "servers": _servers(result.policy),
        "charts": charts or {},
        "chart_alt": {name: alt for name, (alt, _draw) in CHARTS.items()},
    }


def coverage_never_seen(coverage: pl.DataFrame) -> int:
    """How many required entries (per server) were never seen in the logs."""
    if coverage.is_empty():
        return 0
    return coverage.filter(pl.col("status").cast(pl.String) == "never-seen").height


def save(text: str, outdir: str | Path, name: str) -> Path:
    """Write a rendered report as UTF-8 with ``\n`` line ends (the same bytes on every OS).

    Example: ``save(markdown.render(result), "out", "report.md")``.
    """
    path = Path(outdir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
