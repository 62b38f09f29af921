"""The compliance check, streamed (the local engine): read → time window → attribute → scope → match → judge →
flows.parquet and partial aggregates → findings, coverage and summary.

:func:`run_check` is the public entry point; it returns a :class:`CheckResult` that the writers
in :mod:`analyzer.reports` turn into files. Memory holds a few chunks of lines, the aggregates
(:mod:`analyzer.aggregates`: bounded by distinct keys) and the attribution index, never the
whole log: judged flows go to ``flows.parquet`` as they are judged.

The contract an engine runs (here, one process; Spark tasks in another engine) is in
:mod:`analyzer.check`: a :class:`~analyzer.check.Plan` and :func:`~analyzer.check.judge_batch`.

The two passes of the local engine. Attribution can only change flows that have no host
(:func:`analyzer.attribution.nameable`), and it needs evidence from all the flows first. So the
reading pass judges every other flow as soon as its chunk is parsed, and sets the nameable ones
aside in a spool file; once every input is read, the evidence pass builds the index (from the
flows written and the spool, and DNS records) and the judging pass attributes and judges the
spool batch by batch. Proxy logs, whose flows name their hosts, are judged in one pass; firewall
logs go through the spool. The result is the same as judging all flows at once (tested).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from .. import attribution
from ..aggregates import FINDINGS_SCHEMA, Partial, fold, merge, result_fields, split
from ..baseline import load_baseline
from ..check import CheckResult, FlowsFile, Plan, Progress, check_flows, in_window, judge_batch
from ..flows import FLOW_SCHEMA, empty_flows, empty_rejects
from ..output import FrameWriter
from ..parsers.base import ParseOptions
from ..policy import Site, load_policy
from ..sources import expand
from ..timewindow import TimeWindow, resolve_window
from . import evidence
from .read import ReadResult, read_logs

__all__ = ["run_check"]

BATCH_ROWS = 256 * 1024
"""Rows per batch of the judging pass over the spool."""
MERGE_EVERY = 16
"""Partials folded from chunks are merged this many at a time (merging after every chunk would
re-sort the growing aggregates each time)."""
BUCKETS = 8
"""The merged aggregates are kept in this many buckets of disjoint keys
(:func:`analyzer.aggregates.split`), each merged with its share of the new partials: a merge
while reading copies an eighth of the findings, not all of them."""


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
    baseline: str | Path | pl.DataFrame | None = None,
) -> CheckResult:
    """Check logs against a site's policy.

    ``tz`` (the zone of logs that record local time) defaults to the site's ``timezone``;
    ``since``/``until`` (text in the site's zone, or aware datetimes) limit the flows judged.
    ``dns`` paths are read as evidence for attributing IP-only flows; ``dns_window`` is how long
    an answer names later flows (``"24h"`` by default, ``"ttl"``: each answer's TTL). The judged flows are
    written to ``output/flows.parquet`` when ``output`` (a folder) is given, else to a temporary
    file that lives as long as the result. ``progress(stage, done, total)`` hears of each stage
    (:data:`~analyzer.check.STAGES`). ``options`` are passed to the parsers whole (``tz`` wins
    over ``options.tz``). ``baseline``: a previous run's ``findings.json`` (or its findings as
    :func:`analyzer.baseline.load_baseline` reads them); the findings are then marked new or
    persisting and the baseline's resolved ones follow (:func:`analyzer.baseline.compare`); it is
    read first, so a bad one fails at once.

    Example::

        result = run_check(["data/samples"], "data/samples/site.toml")
        result.findings.filter(pl.col("severity") == "high")
    """
    previous = load_baseline(baseline, FINDINGS_SCHEMA) if isinstance(baseline, str | Path) else baseline
    policy = load_policy(site, profile=profile)
    answer_window, use_ttl = attribution.dns_window(dns_window)  # a bad option fails before reading
    zone = tz or (options.tz if options and options.tz != "UTC" else None) or policy.site.timezone
    opts = replace(options or ParseOptions(), tz=zone)
    window = resolve_window(since, until, last, zone)
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
        **result_fields(partial, policy, previous),
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
        self.buckets: list[Partial] = []
        self.total = 0
        self.nameable = evidence.nameable()  # flows attribution may name: set aside until the index

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
        if kept.select(self.nameable.any()).item():
            nameable = kept.filter(self.nameable)
            kept = kept.filter(~self.nameable)
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
            parts = split(merge(*self.pending), BUCKETS)
            self.pending = []
            if not self.buckets:
                self.buckets = parts
                return
            for i, part in enumerate(parts):  # one bucket at a time: the old one goes before the next
                self.buckets[i] = merge(self.buckets[i], part)

    def _merged(self) -> Partial:
        return merge(*self.buckets, *self.pending)

    # --- the evidence and judging passes -------------------------------------------------------

    def finish(self) -> Partial:
        self.writer.close()
        if self.spool is None:
            self.part.replace(self.out)
            return self._merged()
        self.spool.close()
        spooled = pl.scan_parquet(self.spool_path, glob=False)
        written = pl.scan_parquet(self.part, glob=False)
        self._tell("evidence", 0, 1)
        dns = self.evidence().get("dns")
        flows = pl.concat([written.select(list(FLOW_SCHEMA)), spooled], how="vertical")
        index = evidence.index(flows, dns, window=self.plan.dns_window, use_ttl=self.plan.use_ttl)
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
        return self._merged()

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
