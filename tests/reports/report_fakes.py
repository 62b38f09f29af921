"""A small check result in the shape of ``analyzer.check.CheckResult``, built by hand.

The report writers only read a result; building the flows here (and grouping them with the real
``analyzer.verdicts.findings``) lets their tests put any value (hostile host names, empty
sections, long time ranges) exactly where they want it, without a policy run.
The golden and browser tests use real ``run_check`` results over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import polars as pl

from analyzer.aggregates import COVERAGE_SCHEMA, Partial, findings, fold
from analyzer.parsers.base import ParseOptions
from analyzer.read import FileSummary, ReadResult
from analyzer.schema import conform_flows, empty_rejects
from analyzer.timewindow import TimeWindow

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SEVERITY = {
    "blocked-required": "high",
    "unexpected-allowed": "medium",
    "required-failed": "medium",
    "unattributed": "low",
    "unexpected-blocked": "info",
    "required-allowed": "none",
}


@dataclass
class FakeResult:
    flows: pl.DataFrame
    findings: pl.DataFrame
    coverage: pl.DataFrame
    read: ReadResult
    policy: object
    timezone: str = "Europe/Berlin"
    summary: dict[str, int] = field(default_factory=dict)
    aggregates: Partial | None = None
    window: TimeWindow = field(default_factory=TimeWindow)
    outside_window: int = 0


def flow(verdict, host, *, hours=0, port=443, scheme="https", server="CAS", line=1, url="/", user=None, rule=None):
    action = {"blocked-required": "blocked", "unexpected-blocked": "blocked", "required-failed": "failed"}
    return {
        "time": T0 + timedelta(hours=hours),
        "src_ip": "192.0.2.10",
        "dst_host": host,
        "dst_port": port,
        "scheme": scheme,
        "action": action.get(verdict, "allowed"),
        "url_path": url,
        "user": user,
        "rule": rule,
        "source_format": "squid",
        "source_file": "squid/access.log",
        "line_no": line,
        "server": server,
        "direction_to_server": "outbound",
        "verdict": verdict,
        "reason": "test",
        "severity": SEVERITY.get(verdict, "none"),
        "entry": None,
    }


def make_result(rows, coverage_rows=(), *, tz="Europe/Berlin") -> FakeResult:
    """A result of flows given as dicts (see :func:`flow`)."""
    return result_of_frame(pl.DataFrame(list(rows), infer_schema_length=None), coverage_rows, tz=tz)


def result_of_frame(raw: pl.DataFrame, coverage_rows=(), *, tz="Europe/Berlin") -> FakeResult:
    """A result of flows given as a frame with the columns :func:`flow` makes (big results are
    built this way, without a Python row per flow)."""
    flows = pl.concat(
        [
            conform_flows(raw),
            raw.select(
                "server",
                "direction_to_server",
                "verdict",
                "reason",
                "severity",
                pl.col("entry").cast(pl.String),
                pl.lit(None, pl.String).alias("reason_code"),
            ),
        ],
        how="horizontal",
    )
    files = [
        FileSummary(file="squid/access.log", format="squid", kind="flows", lines=flows.height + 1, records=flows.height)
    ]
    files[0].skipped = {"blank": 1}
    read = ReadResult(flows=flows, rejects=empty_rejects(), files=files, options=ParseOptions(tz=tz))
    profile = SimpleNamespace(
        name="cm2007",
        title="Configuration Manager 2007",
        document="Microsoft Learn",
        version="2024-01",
        url="https://learn.microsoft.com/x",
    )
    servers = [
        SimpleNamespace(
            name="CAS",
            fqdn="sup-cas.corp.example.com",
            addresses=["192.0.2.10"],
            role="sup",
            upstream="microsoft-update",
        )
    ]
    site = SimpleNamespace(servers=servers, wsus_web_site="custom", file="site.toml")
    policy = SimpleNamespace(profile=profile, wildcard="subdomains", site=site)
    summary = flows.group_by("verdict").len().sort("verdict")
    return FakeResult(
        flows=flows,
        findings=findings(flows),
        coverage=pl.DataFrame(list(coverage_rows), schema=COVERAGE_SCHEMA),
        read=read,
        policy=policy,
        timezone=tz,
        summary=dict(summary.iter_rows()),
        aggregates=fold(flows),
    )


def coverage_row(entry, status, server="CAS", scheme="https", port=443, allowed=0, blocked=0):
    seen = T0 if status != "never-seen" else None
    return {
        "server": server,
        "entry": entry,
        "kind": "allow-list",
        "scheme": scheme,
        "port": port,
        "status": status,
        "allowed": allowed,
        "blocked": blocked,
        "failed": 0,
        "first_seen": seen,
        "last_seen": seen,
    }


def small_result() -> FakeResult:
    """Required traffic allowed and blocked, one unexpected allowed and one blocked, coverage of three."""
    rows = [
        flow("required-allowed", "download.windowsupdate.com", hours=h, port=80, scheme="http", line=h + 1)
        for h in range(6)
    ]
    rows += [
        flow("blocked-required", "dl.delivery.mp.microsoft.com", hours=h, line=10 + h, rule="DENY_ALL") for h in (2, 3)
    ]
    rows += [flow("unexpected-allowed", "evil.test", hours=4, line=20)]
    rows += [flow("unexpected-blocked", "tracker.test", hours=5, line=21, rule="DENY_ALL")]
    rows[6]["entry"] = rows[7]["entry"] = "*.delivery.mp.microsoft.com"
    coverage = [
        coverage_row("*.windowsupdate.com", "seen-allowed", scheme="http", port=80, allowed=6),
        coverage_row("*.delivery.mp.microsoft.com", "seen-blocked", blocked=2),
        coverage_row("go.microsoft.com", "never-seen", scheme="http", port=80),
    ]
    return make_result(rows, coverage)
