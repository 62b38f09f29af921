"""The check's contract: :class:`CheckResult` (what reports, charts and notebooks build on), and
the batch function an engine runs, a :class:`Plan` and :func:`judge_batch`, a pure function from
a batch of flows to the judged batch and its :class:`~analyzer.aggregates.Partial`; partials
merge in any order (:func:`analyzer.aggregates.merge`). Both are module-level and picklable.

The local engine that runs them over files, in two streaming passes, is
:func:`analyzer.pipeline.check.run_check`.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import polars as pl

from . import ambiguity, attribution
from .aggregates import Partial, empty, fold
from .baseline import current_only
from .pipeline.read import ReadResult
from .policy import Policy
from .scope import scope
from .timewindow import TimeWindow
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
]

STAGES = ("reading", "evidence", "judging", "reports")
"""The stages a check reports progress in, in order: reading the logs (flows that name their
host are judged as they are read), building the attribution index, judging the flows set aside
for it, writing the reports (by the caller: :func:`analyzer.api.write_reports`)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` one of :data:`STAGES`; bytes while reading, flows
while judging, steps otherwise."""


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
        present = set(current_only(self.findings)["severity"].to_list())
        return next((s for s in SEVERITIES if s in present), None)

    def fails(self, fail_on: str = "high") -> bool:
        """Whether a finding is at or above ``fail_on`` (one of :data:`SEVERITIES`, or ``"none"``:
        never, for runs that only report). Only this run's findings count, never resolved ones."""
        return self.failing(fail_on) > 0

    def failing(self, fail_on: str = "high") -> int:
        """How many of this run's findings are at or above ``fail_on`` (0 for ``"none"``)."""
        if fail_on == "none":
            return 0
        limit = SEVERITY_RANK[fail_on]
        severities = current_only(self.findings)["severity"].to_list()
        return sum(1 for s in severities if s in SEVERITY_RANK and SEVERITY_RANK[s] <= limit)

    def nothing_to_judge(self) -> str | None:
        """Why this check judged no flow of the site's servers, in one line (None when it judged
        some). See :func:`nothing_to_judge`."""
        return nothing_to_judge(self.read.files, self.summary, self.outside_window, self.window)

    def to_pandas(self) -> dict:
        """The frames as pandas DataFrames, by name: ``flows`` (all of them: this loads the flows
        file), ``findings``, ``coverage``, ``files`` (one row per input file) and ``rejects``.

        Example: ``result.to_pandas()["findings"].groupby("severity").size()``.
        """
        from .reports.notebook import check_frames, frames_to_pandas

        return frames_to_pandas(check_frames(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: findings by severity, verdicts, top findings and inputs, all escaped."""
        from .reports.notebook import check_html

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
