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
from ..verdicts import SEVERITIES, VERDICTS, in_group
from . import domains
from .charts import CHARTS

REQUIRED_PROBLEMS = in_group("required", actionable=True)
UNEXPECTED = in_group("unexpected")  # by severity
VERDICT_ORDER = (*VERDICTS, "out-of-scope")
OUT_OF_SCOPE = "neither source nor destination is an update server"
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
        "bytes": _size(row.get("bytes")),
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
                # DNS answers are evidence, not flows: counted apart so the verdicts add up.
                "flows": f.records if f.kind != "dns" else 0,
                "answers": f.records if f.kind == "dns" else 0,
                "rejects": f.rejects,
                "skipped": f.skipped_total,
                "first_reject": f.first_reject_line,
                "gaps": list(getattr(f, "gaps", ())),
            }
        )
    return {
        "files": files,
        "lines": sum(f.lines for f in read.files),
        "flows": sum(f["flows"] for f in files),
        "answers": sum(f["answers"] for f in files),
        "rejects": sum(f.rejects for f in read.files),
        "skipped": sum(f.skipped_total for f in read.files),
        "gaps": [f for f in files if f["gaps"]],
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


LISTED = 100
"""Unexpected (and resolved) findings listed one by one, most severe and most frequent first;
the rest are counted and left to findings.csv. Required problems are never cut."""
GROUPS = 40
"""Registrable domains listed per unexpected verdict, those with most flows first."""


def _split(findings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(current, resolved) findings. A baseline run marks them in ``status``; without it every
    finding is current. (A literal predicate such as ``pl.lit(None).is_null()`` is not used in
    place of the missing column: polars 2.1's eager ``filter`` evaluates it per thread split on
    frames of 19,248 rows or more and fails with "filter predicate length of 2 doesn't match".)
    """
    if "status" not in findings.columns:
        return findings, findings.clear()
    status = pl.col("status").cast(pl.String)
    return findings.filter(status.is_null() | (status != "resolved")), findings.filter(status == "resolved")


def _size(n: int | None) -> str:
    """Bytes for people: ``_size(1_234_567) == "1.2 MB"``."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""


def _domain_sections(unexpected: pl.DataFrame, zone: ZoneInfo) -> list[dict]:
    """Per unexpected verdict (most severe first): its findings grouped by registrable domain,
    the ``GROUPS`` domains with most flows listed and the rest counted."""
    if unexpected.is_empty():
        return []
    table = domains.groups(unexpected)
    sections = []
    for verdict in UNEXPECTED:
        rows = table.filter(pl.col("verdict") == verdict)
        if rows.is_empty():
            continue
        totals = rows.select(pl.col("findings").sum(), pl.col("flows").sum(), pl.col("hosts").sum()).row(0)
        rest = rows.slice(GROUPS).select(pl.len(), pl.col("findings").sum(), pl.col("flows").sum()).row(0)
        listed = [
            {
                "domain": r["group"],
                "hosts": r["hosts"],
                "findings": r["findings"],
                "flows": r["flows"],
                "bytes": _size(r["bytes"]),
                "servers": ", ".join(r["servers"]),
                "top": [t["destination"] for t in r["top"]],
                "top_more": max(r["hosts"] - len(r["top"]), 0),
                "first_seen": _fmt_time(r["first_seen"], zone),
                "last_seen": _fmt_time(r["last_seen"], zone),
            }
            for r in rows.head(GROUPS).iter_rows(named=True)
        ]
        sections.append(
            {
                "verdict": verdict,
                "severity": VERDICTS[verdict][0],
                "findings": int(totals[0] or 0),
                "flows": int(totals[1] or 0),
                "hosts": int(totals[2] or 0),
                "domains": rows.height,
                "groups": listed,
                "more_groups": int(rest[0]),
                "more_findings": int(rest[1] or 0),
                "more_flows": int(rest[2] or 0),
            }
        )
    return sections


def build(result, *, charts: dict[str, bytes] | None = None) -> dict:
    """The view of a check result for the report templates.

    ``charts`` maps chart names to PNG bytes (the HTML embeds them; Markdown links the files).
    Sizes stay bounded whatever the number of findings: required problems are all listed,
    unexpected findings are grouped by registrable domain (``GROUPS`` per verdict) and the
    ``LISTED`` largest listed one by one; what is left out is counted ("N more in findings.csv").
    Example: ``build(result)["glance"]["severity"]["high"]``.
    """
    zone = ZoneInfo(result.timezone)
    findings = _ordered(result.findings)
    current, resolved = _split(findings)
    severity = dict.fromkeys(SEVERITIES, 0)
    for sev, n in current.group_by("severity").len().iter_rows():
        if sev in severity:
            severity[sev] = n
    per_verdict = {v: (0, 0) for v in VERDICT_ORDER}
    for v, n, flows in current.group_by("verdict").agg(pl.len(), pl.col("count").sum()).iter_rows():
        per_verdict[v] = (int(n), int(flows or 0))
    listed = [v for v in VERDICT_ORDER if v in result.summary] + sorted(
        v for v in result.summary if v not in VERDICT_ORDER
    )
    verdicts = [
        {
            "verdict": v,
            "flows": int(result.summary[v]),
            "severity": VERDICTS[v].severity if v in VERDICTS else "none",
            "description": VERDICTS[v].description if v in VERDICTS else OUT_OF_SCOPE,
        }
        for v in listed
    ]
    first, last = result.aggregates.time_range()
    drawn = main_range(result.aggregates.minutes)
    # Most severe first (the frame is ordered): blocked-required (high) before required-failed.
    blocked = [
        _finding(r, zone) for r in current.filter(pl.col("verdict").is_in(REQUIRED_PROBLEMS)).iter_rows(named=True)
    ]
    unexpected = current.filter(pl.col("verdict").is_in(UNEXPECTED))
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
            "blocked_required": per_verdict["blocked-required"][1],
            "blocked_findings": per_verdict["blocked-required"][0],
            "failed_findings": per_verdict["required-failed"][0],
            "unexpected_allowed": per_verdict["unexpected-allowed"][1],
            "unexpected_allowed_findings": per_verdict["unexpected-allowed"][0],
            "never_seen": coverage_never_seen(result.coverage),
            "auth_required": int(result.summary.get("auth-required", 0)),
            "baseline": has_baseline,
            "changes": diff,
        },
        "blocked": blocked,
        "domains": _domain_sections(unexpected, zone),
        "unexpected": [_finding(r, zone) for r in unexpected.head(LISTED).iter_rows(named=True)],
        "unexpected_total": unexpected.height,
        "ambiguous": [_finding(r, zone) for r in current.filter(pl.col("ambiguous")).head(LISTED).iter_rows(named=True)]
        if "ambiguous" in current.columns
        else [],
        "resolved": [_finding(r, zone) for r in resolved.head(LISTED).iter_rows(named=True)],
        "resolved_total": resolved.height,
        "listed": LISTED,
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
