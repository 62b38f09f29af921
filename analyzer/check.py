"""The compliance check, streamed: read → time window → attribute → scope → match → judge →
flows.parquet and partial aggregates → findings, coverage and summary.

:func:`run_check` is the public entry point; it returns a :class:`CheckResult` that the writers
in :mod:`analyzer.reports` turn into files. Memory holds a few chunks of lines, the aggregates
(:mod:`analyzer.aggregates`: bounded by distinct keys) and the attribution index, never the
whole log: judged flows go to ``flows.parquet`` as they are judged.

The contract an engine runs (here, one process; Spark tasks in another engine): a :class:`Plan`
(policy, window, attribution index) and :func:`judge_batch`, a pure function from a batch of
flows to the judged batch and its :class:`~analyzer.aggregates.Partial`; partials merge in any
order (:func:`analyzer.aggregates.merge`). Both are module-level and picklable.

The two passes of the local engine. Attribution can only change flows that have no host
(:data:`analyzer.attribution.NAMEABLE`), and it needs evidence from all the flows first. So the
reading pass judges every other flow as soon as its chunk is parsed, and sets the nameable ones
aside in a spool file; once every input is read, the evidence pass builds the index (from the
flows written and the spool, and DNS records) and the judging pass attributes and judges the
spool batch by batch. Proxy logs, whose flows name their hosts, are judged in one pass; firewall
logs go through the spool. The result is the same as judging all flows at once (tested).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from . import ambiguity, attribution
from .aggregates import Partial, empty, fold, merge, result_fields
from .output import FrameWriter
from .parsers.base import ParseOptions
from .policy import Policy, Site, load_policy
from .read import ReadResult, read_logs
from .schema import FLOW_SCHEMA, empty_flows, empty_rejects
from .scope import scope
from .sources import expand
from .timewindow import TimeWindow, resolve_window
from .verdicts import SEVERITIES, SEVERITY_RANK, VERDICTS, judge

__all__ = [
    "SEVERITIES",
    "STAGES",
    "VERDICTS",
    "CheckResult",
    "Plan",
    "check_flows",
    "judge_batch",
    "nothing_to_judge",
    "run_check",
]

STAGES = ("reading", "evidence", "judging", "reports")
"""The stages a check reports progress in, in order: reading the logs (flows that name their
host are judged as they are read), building the attribution index, judging the flows set aside
for it, writing the reports (by the caller: :func:`analyzer.api.write_reports`)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` one of :data:`STAGES`; bytes while reading, flows
while judging, steps otherwise."""

BATCH_ROWS = 256 * 1024
"""Rows per batch of the judging pass over the spool."""
MERGE_EVERY = 16
"""Partials folded from chunks are merged this many at a time (merging after every chunk would
re-sort the growing aggregates each time)."""


@dataclass(frozen=True, eq=False)
class FlowsFile:
    """The ``flows.parquet`` behind a result. A temporary one (``run_check`` without ``output``)
    is removed with its folder when no result refers to it any more, or at exit."""

    path: Path
    temporary: bool = False

    def __post_init__(self) -> None:
        if self.temporary:
            weakref.finalize(self, shutil.rmtree, str(self.path.parent), True)


@dataclass
class CheckResult:
    """Everything a check found. The contract the reports, charts and notebooks build on.

    - ``flows``: a lazy frame over ``flows.parquet`` (every flow, in scope or not): the flow
      columns plus ``server``, ``direction_to_server`` ("outbound" | "inbound" | null),
      ``verdict`` (null out of scope), ``reason``, ``reason_code``, ``severity`` and ``entry``
      (the allow-list entry literal or the hierarchy pair ``"PRI1 -> CAS"``), plus
      ``src_server``/``dst_server``. Filter it, then ``.collect()``: the flows are not in memory.
    - ``findings``: see :data:`analyzer.aggregates.FINDINGS_SCHEMA`.
    - ``coverage``: see :data:`analyzer.aggregates.COVERAGE_SCHEMA`.
    - ``summary``: verdict → number of flows, every kind, plus ``out-of-scope``.
    - ``aggregates``: the merged :class:`~analyzer.aggregates.Partial` (chart series, per-file
      counts) the reports draw from.

    Example::

        result = run_check(["data/samples"], "data/samples/site.toml")
        result.findings.filter(pl.col("severity") == "high")
        result.flows.filter(pl.col("verdict") == "blocked-required").collect()
    """

    flows: pl.LazyFrame
    findings: pl.DataFrame
    coverage: pl.DataFrame
    read: ReadResult
    policy: Policy
    timezone: str
    summary: dict[str, int]
    window: TimeWindow = field(default_factory=TimeWindow)
    outside_window: int = 0
    """Flows dropped because they fall outside ``--since``/``--until``."""
    aggregates: Partial = field(default_factory=empty)
    flows_file: FlowsFile | None = None
    """Where ``flows`` is stored (``OUTDIR/flows.parquet``, or a temporary file)."""

    @property
    def flow_count(self) -> int:
        """How many flows were judged (in scope or not)."""
        return sum(self.summary.values())

    def worst_severity(self) -> str | None:
        """The most severe severity among the findings (``None`` when there are none ranked)."""
        present = set(self.findings["severity"].to_list())
        return next((s for s in SEVERITIES if s in present), None)

    def fails(self, fail_on: str = "high") -> bool:
        """Whether a finding is at or above ``fail_on`` (one of :data:`SEVERITIES`, or ``"none"``:
        never, for runs that only report)."""
        return self.failing(fail_on) > 0

    def failing(self, fail_on: str = "high") -> int:
        """How many findings are at or above ``fail_on`` (0 for ``"none"``)."""
        if fail_on == "none":
            return 0
        limit = SEVERITY_RANK[fail_on]
        return sum(1 for s in self.findings["severity"].to_list() if s in SEVERITY_RANK and SEVERITY_RANK[s] <= limit)

    def nothing_to_judge(self) -> str | None:
        """Why this check judged no flow of the site's servers, in one line (None when it judged
        some). See :func:`nothing_to_judge`."""
        return nothing_to_judge(self.read.files, self.summary, self.outside_window, self.window)

    def to_pandas(self) -> dict:
        """The frames as pandas DataFrames, by name: ``flows`` (all of them: this loads the flows
        file), ``findings``, ``coverage``, ``files`` (one row per input file) and ``rejects``.

        Example: ``result.to_pandas()["findings"].groupby("severity").size()``.
        """
        from .api import check_frames, frames_to_pandas  # the notebook glue builds on this module

        return frames_to_pandas(check_frames(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: findings by severity, verdicts, top findings and inputs, all escaped."""
        from .api import check_html

        return check_html(self)


def plural(n: int, word: str) -> str:
    """``"1 flow"``, ``"2 flows"``, with thousands separators."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def nothing_to_judge(files, summary: dict[str, int], outside_window: int, window: TimeWindow) -> str | None:
    """Why a check judged no flow of the site's servers, in one line; None when it judged some.

    From counts alone (per-file summaries, flows per verdict, flows outside the window), so a
    streaming check computes it the same way. The reasons, in the order they are tested: no log
    files, no file recognised as a log, files without lines, lines but no flows, every flow
    outside the window, flows but none from or to a server of the site.

    Example: ``nothing_to_judge([], {}, 0, TimeWindow())`` is ``"no log files found"``.
    """
    if any(n for verdict, n in summary.items() if verdict != "out-of-scope"):
        return None
    logs = [f for f in files if f.kind != "dns"]
    lines = sum(f.lines for f in logs)
    flows = sum(f.records for f in logs if f.kind == "flows")
    unknown = sum(1 for f in logs if f.status.startswith("skipped"))
    read = f"{plural(len(logs), 'file')}, {plural(lines, 'line')}"
    if not logs:
        return "no log files found"
    if unknown == len(logs):
        return f"no file recognised as a log ({plural(len(logs), 'file')})"
    if not lines:
        return f"no lines in {plural(len(logs), 'file')}"
    if not flows:
        return f"no flows in {read} (every line rejected or skipped)"
    if outside_window and outside_window >= flows:
        return f"all {plural(flows, 'flow')} outside {window.describe()} ({read})"
    inside = flows - outside_window
    return f"no flows from or to the site's servers among {plural(inside, 'flow')} ({read})"


def check_flows(flows: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The pure part of the check: scope, match and judge already attributed flows.

    Example: ``check_flows(read_logs(["access.log"]).flows, load_policy("site.toml"))``.
    """
    # A separate step after judging: flows whose candidate names (an address that stood for
    # several) would get different verdicts are marked ambiguous (analyzer.ambiguity).
    return ambiguity.mark(_judged(flows, policy), lambda alternatives: _judged(alternatives, policy))


def _judged(flows: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    from .match import match  # the stages are plain functions of frames

    # The verdict depends only on the key (server, destination, scheme, port, action, ...): judge
    # the distinct keys and join the verdicts back with the match, in one pass over the flows.
    return match(scope(flows, policy.site), policy, then=judge)


@dataclass(frozen=True)
class Plan:
    """What judging a batch needs besides the batch: the policy, the time window and the
    attribution index (None: no flow to name, or no evidence). Picklable."""

    policy: Policy
    window: TimeWindow = field(default_factory=TimeWindow)
    index: attribution.Index | None = None
    dns_window: timedelta = attribution.DEFAULT_WINDOW
    """How long an answer names later flows (``--dns-window``); ``use_ttl``: each answer's TTL."""
    use_ttl: bool = False


def in_window(flows: pl.DataFrame, window: TimeWindow) -> tuple[pl.DataFrame, int]:
    """The flows inside ``window`` (flows without a time are outside a window) and how many were not."""
    if not window:
        return flows, 0
    keep = pl.lit(True)
    if window.since is not None:
        keep = keep & (pl.col("time") >= window.since)
    if window.until is not None:
        keep = keep & (pl.col("time") < window.until)
    kept = flows.filter(keep.fill_null(False))
    return kept, flows.height - kept.height


def judge_batch(flows: pl.DataFrame, plan: Plan) -> tuple[pl.DataFrame, Partial]:
    """One batch of flows (flow schema) through window, attribution, scope, match and verdicts:
    the judged flows and their partial aggregates. Pure: the same batch and plan give the same
    answer on any machine. Example: ``judged, partial = judge_batch(chunk, Plan(policy))``."""
    kept, outside = in_window(flows, plan.window)
    if plan.index is not None:
        kept = attribution.attribute_batch(kept, plan.index)
    judged = check_flows(kept, plan.policy)
    return judged, fold(judged, outside)


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
    progress: Progress | None = None,
    output: str | Path | None = None,
) -> CheckResult:
    """Check logs against a site's policy.

    ``tz`` (the zone of logs that record local time) defaults to the site's ``timezone``;
    ``since``/``until`` (text in the site's zone, or aware datetimes) limit the flows judged.
    ``dns`` paths are read as evidence for attributing IP-only flows; ``dns_window`` is how long
    an answer names later flows (``"24h"`` by default, ``"ttl"``: each answer's TTL). The judged flows are
    written to ``output/flows.parquet`` when ``output`` (a folder) is given, else to a temporary
    file that lives as long as the result. ``progress(stage, done, total)`` hears of each stage
    (:data:`STAGES`).

    Example::

        result = run_check(["data/samples"], "data/samples/site.toml")
        result.findings.filter(pl.col("severity") == "high")
    """
    policy = load_policy(site, profile=profile)
    answer_window, use_ttl = attribution.dns_window(dns_window)  # a bad option fails before reading
    zone = tz or (options.tz if options and options.tz != "UTC" else None) or policy.site.timezone
    opts = ParseOptions(tz=zone, squid_logformat=options.squid_logformat if options else None)
    window = _window(since, until, last, zone)
    if output is None:
        flows_file = FlowsFile(Path(tempfile.mkdtemp(prefix="analyzer-check-")) / "flows.parquet", temporary=True)
    else:
        Path(output).mkdir(parents=True, exist_ok=True)
        flows_file = FlowsFile(Path(output) / "flows.parquet")
    run = _LocalRun(Plan(policy, window, dns_window=answer_window, use_ttl=use_ttl), flows_file.path, progress)
    try:
        paths, dns = list(paths), list(dns or [])
        if format:  # a forced format applies to the logs, not to the DNS evidence files
            read = _merge_reads([run.read(paths, format, opts), *([run.read(dns, None, opts)] if dns else [])])
        else:
            read = run.read([*paths, *dns], None, opts)
        read.evidence = run.evidence()
        partial = run.finish()
    finally:
        run.close()
    return CheckResult(
        flows=pl.scan_parquet(flows_file.path, glob=False),
        read=read,
        policy=policy,
        timezone=zone,
        window=window,
        flows_file=flows_file,
        **result_fields(partial, policy),
    )


class _LocalRun:
    """The local engine's state over one run: the writers, the spool, the partials."""

    def __init__(self, plan: Plan, out: Path, progress: Progress | None):
        self.plan, self.out, self.progress = plan, out, progress
        self.schema = check_flows(empty_flows(), plan.policy).schema
        self.part = out.with_name(f".{out.stem}.part.parquet")
        self.spool_path = out.with_name(f".{out.stem}.spool.parquet")
        self.writer = FrameWriter(self.part, self.schema)
        self.spool: FrameWriter | None = None
        self.dns: list[pl.DataFrame] = []
        self.pending: list[Partial] = []
        self.total = 0

    # --- the reading pass ----------------------------------------------------------------------

    def read(self, paths: list[str], format: str | None, opts: ParseOptions) -> ReadResult:
        sources = expand(paths)
        offsets: dict[str, int] = {}
        for src in sources:
            offsets[src.name] = self.total
            self.total += src.size

        def on_bytes(src, done: int) -> None:
            self._tell("reading", min(offsets.get(src.name, 0) + done, self.total), self.total)

        read = read_logs(paths, format=format, options=opts, progress=on_bytes, sink=self.sink)
        self._tell("reading", self.total, self.total)
        return read

    def evidence(self) -> dict[str, pl.DataFrame]:
        """The DNS records read (the flows are in flows.parquet, not in the read result)."""
        return {"dns": pl.concat(self.dns, how="vertical")} if self.dns else {}

    def sink(self, kind: str, frame: pl.DataFrame) -> None:
        if kind != "flows":
            self.dns.append(frame)
            return
        kept, outside = in_window(frame, self.plan.window)
        if kept.select(attribution.NAMEABLE.any()).item():
            nameable = kept.filter(attribution.NAMEABLE)
            kept = kept.filter(~attribution.NAMEABLE)
            if self.spool is None:
                self.spool = FrameWriter(self.spool_path, FLOW_SCHEMA)
            self.spool.write(nameable)
        # Attribution cannot change these flows: judged now, with no index.
        judged = check_flows(kept, self.plan.policy)
        self.writer.write(judged)
        self._add(fold(judged, outside))

    def _add(self, partial: Partial) -> None:
        self.pending.append(partial)
        if len(self.pending) >= MERGE_EVERY:
            self.pending = [merge(*self.pending)]

    # --- the evidence and judging passes -------------------------------------------------------

    def finish(self) -> Partial:
        self.writer.close()
        if self.spool is None:
            self.part.replace(self.out)
            return merge(*self.pending)
        self.spool.close()
        spooled = pl.scan_parquet(self.spool_path, glob=False)
        written = pl.scan_parquet(self.part, glob=False)
        self._tell("evidence", 0, 1)
        dns = self.evidence().get("dns")
        flows = pl.concat([written.select(list(FLOW_SCHEMA)), spooled], how="vertical")
        index = attribution.index(flows, dns, window=self.plan.dns_window, use_ttl=self.plan.use_ttl)
        self._tell("evidence", 1, 1)
        # The window was applied when spooling.
        plan = Plan(self.plan.policy, TimeWindow(), index, self.plan.dns_window, self.plan.use_ttl)
        n_written = written.select(pl.len()).collect().item()
        total = n_written + self.spool.rows
        done = 0
        # Flows judged while reading come first, then the spooled ones: one file, every flow.
        with FrameWriter(self.out, self.schema) as final:
            for batch in written.collect_batches(chunk_size=BATCH_ROWS) if n_written else ():
                final.write(batch)
                done += batch.height
                self._tell("judging", done, total)
            for batch in spooled.collect_batches(chunk_size=BATCH_ROWS):
                judged, partial = judge_batch(batch, plan)
                final.write(judged)
                self._add(partial)
                done += batch.height
                self._tell("judging", done, total)
        return merge(*self.pending)

    def _tell(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def close(self) -> None:
        """Close the writers and remove the working files (also after an error)."""
        for writer in (self.writer, self.spool):
            if writer is not None:
                with contextlib.suppress(Exception):  # an error already on its way out matters more
                    writer.close()
        self.part.unlink(missing_ok=True)
        self.spool_path.unlink(missing_ok=True)


def _window(since, until, last, tz: str) -> TimeWindow:
    if isinstance(since, datetime) or isinstance(until, datetime):
        return TimeWindow(since=since, until=until)  # type: ignore[arg-type]
    return resolve_window(since, until, last, tz)


def _merge_reads(reads: list[ReadResult]) -> ReadResult:
    evidence: dict[str, pl.DataFrame] = {}
    for read in reads:
        for kind, frame in read.evidence.items():
            evidence[kind] = pl.concat([evidence[kind], frame]) if kind in evidence else frame
    rejects = [r.rejects for r in reads if r.rejects.height]
    return ReadResult(
        flows=empty_flows(),
        rejects=pl.concat(rejects) if rejects else empty_rejects(),
        files=[f for r in reads for f in r.files],
        options=reads[0].options,
        evidence=evidence,
    )
