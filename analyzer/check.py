"""The compliance check: read → attribute → scope → match → verdicts → findings and coverage.

:func:`run_check` is the public entry point; it returns a :class:`CheckResult` that the writers
in :mod:`analyzer.reports` turn into files (findings.json/csv, coverage.csv, flows.parquet, and
the human reports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from . import ambiguity
from .attribution import attribute
from .attribution import dns_window as dns_window_of
from .parsers.base import ParseOptions
from .policy import Policy, Site, load_policy
from .read import ReadResult, read_logs
from .scope import scope
from .timewindow import TimeWindow, resolve_window
from .verdicts import SEVERITIES, SEVERITY_RANK, VERDICTS, coverage, findings, judge, summarize

__all__ = ["SEVERITIES", "VERDICTS", "CheckResult", "check_flows", "run_check"]


@dataclass
class CheckResult:
    """Everything a check found. The contract the reports, charts and notebooks build on.

    - ``flows``: the flow columns plus ``server``, ``direction_to_server`` ("outbound" |
      "inbound" | null), ``verdict`` (null out of scope), ``reason``, ``reason_code``,
      ``severity`` and ``entry`` (the allow-list entry literal or the hierarchy pair
      ``"PRI1 -> CAS"``), plus ``src_server``/``dst_server``.
    - ``findings``: see :data:`analyzer.verdicts.FINDINGS_SCHEMA`.
    - ``coverage``: see :data:`analyzer.verdicts.COVERAGE_SCHEMA`.
    - ``summary``: verdict → number of flows, every kind, plus ``out-of-scope``.

    Example::

        result = run_check(["data/samples"], "data/samples/site.toml")
        result.findings.filter(pl.col("severity") == "high")
        result.to_pandas()["findings"]  # shown as an HTML summary in Jupyter
    """

    flows: pl.DataFrame
    findings: pl.DataFrame
    coverage: pl.DataFrame
    read: ReadResult
    policy: Policy
    timezone: str
    summary: dict[str, int]
    window: TimeWindow = field(default_factory=TimeWindow)
    outside_window: int = 0
    """Flows dropped because they fall outside ``--since``/``--until``."""

    def worst_severity(self) -> str | None:
        """The most severe severity among the findings (``None`` when there are none ranked)."""
        present = set(self.findings["severity"].to_list())
        return next((s for s in SEVERITIES if s in present), None)

    def fails(self, fail_on: str = "high") -> bool:
        """Whether a finding is at or above ``fail_on`` (one of :data:`SEVERITIES`, or ``"none"``:
        never, for runs that only report)."""
        if fail_on == "none":
            return False
        limit = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[s] <= limit for s in self.findings["severity"].to_list() if s in SEVERITY_RANK)

    def to_pandas(self) -> dict:
        """The frames as pandas DataFrames, by name: ``flows``, ``findings``, ``coverage``,
        ``files`` (one row per input file) and ``rejects``.

        Example: ``result.to_pandas()["findings"].groupby("severity").size()``.
        """
        from .api import check_frames, frames_to_pandas  # the notebook glue builds on this module

        return frames_to_pandas(check_frames(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: findings by severity, verdicts, top findings and inputs, all escaped."""
        from .api import check_html

        return check_html(self)


def check_flows(flows: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The pure part of the check: scope, match and judge already attributed flows.

    Example: ``check_flows(read_logs(["access.log"]).flows, load_policy("site.toml"))``.
    """
    from .match import match  # the stages are plain functions of frames

    # The verdict depends only on the key (server, destination, scheme, port, action, ...): judge
    # the distinct keys and join the verdicts back with the match, in one pass over the flows.
    return match(scope(flows, policy.site), policy, then=judge)


def run_check(
    paths: Iterable[str],
    site: str | Site,
    *,
    profile: str | None = None,
    format: str | None = None,
    dns: Iterable[str] | None = None,
    dns_window: str | timedelta | None = None,
    tz: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    last: str | None = None,
    options: ParseOptions | None = None,
    progress: Callable | None = None,
) -> CheckResult:
    """Check logs against a site's policy.

    ``tz`` (the zone of logs that record local time) defaults to the site's ``timezone``;
    ``since``/``until`` (text in the site's zone, or aware datetimes) limit the flows judged.
    ``dns`` paths are read as evidence for attributing IP-only flows; ``dns_window`` is how long
    an answer names later flows (``"24h"`` by default, ``"ttl"``: each answer's TTL).

    Example::

        result = run_check(["data/samples"], "data/samples/site.toml")
        result.findings.filter(pl.col("severity") == "high")
    """
    policy = load_policy(site, profile=profile)
    window_for, use_ttl = dns_window_of(dns_window)  # a bad option fails before any reading
    zone = tz or (options.tz if options and options.tz != "UTC" else None) or policy.site.timezone
    opts = ParseOptions(tz=zone, squid_logformat=options.squid_logformat if options else None)
    window = _window(since, until, last, zone)
    if format:  # a forced format applies to the logs, not to the DNS evidence files
        logs = read_logs(list(paths), format=format, options=opts, progress=progress)
        read = _merge(logs, read_logs(list(dns), options=opts, progress=progress) if dns else None)
    else:
        read = read_logs([*paths, *(dns or [])], options=opts, progress=progress)
    flows = read.flows
    outside = 0
    if window:
        keep = pl.lit(True)
        if window.since is not None:
            keep = keep & (pl.col("time") >= window.since)
        if window.until is not None:
            keep = keep & (pl.col("time") < window.until)
        kept = flows.filter(keep.fill_null(False))
        outside = flows.height - kept.height
        flows = kept
    flows = attribute(flows, read.evidence.get("dns"), window=window_for, use_ttl=use_ttl)
    judged = check_flows(flows, policy)
    # A separate step: flows whose candidate names would get different verdicts are marked.
    judged = ambiguity.mark(judged, lambda alternatives: check_flows(alternatives, policy))
    return CheckResult(
        flows=judged,
        findings=findings(judged),
        coverage=coverage(judged, policy),
        read=read,
        policy=policy,
        timezone=zone,
        summary=summarize(judged),
        window=window,
        outside_window=outside,
    )


def _window(since, until, last, tz: str) -> TimeWindow:
    if isinstance(since, datetime) or isinstance(until, datetime):
        return TimeWindow(since=since, until=until)  # type: ignore[arg-type]
    return resolve_window(since, until, last, tz)


def _merge(logs: ReadResult, extra: ReadResult | None) -> ReadResult:
    if extra is None:
        return logs
    evidence = dict(logs.evidence)
    for kind, frame in extra.evidence.items():
        evidence[kind] = pl.concat([evidence[kind], frame]) if kind in evidence else frame
    flows = pl.concat([logs.flows, extra.flows], how="vertical")
    return ReadResult(
        flows=flows,
        rejects=pl.concat([logs.rejects, extra.rejects]),
        files=logs.files + extra.files,
        options=logs.options,
        evidence=evidence,
    )
