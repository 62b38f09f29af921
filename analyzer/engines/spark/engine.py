"""The check on Spark: the local engine's batch function and merge, run in Spark tasks.

What runs where:

- driver: expand the paths, detect each file's format (as locally), plan the splits; build the
  attribution index from the reading pass's parts; merge the partials; the reports;
- tasks (``mapInArrow`` over split ids, Arrow out): count newlines per range; the reading pass
  (:func:`~analyzer.engines.spark.tasks.read_task`): read a split, judge the flows attribution
  cannot change, and send back its partial aggregates, the attribution evidence, DNS records,
  rejects and its file summary part; the judging pass
  (:func:`~analyzer.engines.spark.tasks.name_task`), only over splits with flows to name: read
  again, attribute and judge those with :func:`analyzer.check.judge_batch` (the broadcast
  :class:`~analyzer.check.Plan` holds the index). What a task sends the driver travels in an
  accumulator keyed by split id: a retried task replaces its value, nothing counts twice.
"""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ... import attribution, parsers
from ...aggregates import FINDINGS_SCHEMA, Partial, merge, result_fields
from ...baseline import load_baseline
from ...check import CheckResult, Plan, check_flows
from ...errors import AnalyzerError
from ...flows import empty_flows, empty_rejects
from ...parsers.base import ParseOptions
from ...pipeline.read import FileSummary, ReadResult, check_timezone, nothing_parses
from ...policy import Site, load_policy
from ...sources import expand
from ...timewindow import resolve_window
from . import splits as splitting
from .tasks import COUNT_ROW, count_task, evidence_from_bytes, from_ipc, name_task, partial_from_bytes, read_task

MAX_INDEX_BYTES = 1024**3
"""Largest attribution index (with the policy, pickled) broadcast to the judging tasks: every
executor's Python worker holds one copy. Beyond it the check stops with a one-line error."""
CONCURRENT_WRITERS = {
    "spark.sql.optimizer.plannedWrite.enabled": "false",
    "spark.sql.maxConcurrentOutputFileWriters": "16",
}
"""How the flows dataset is written: a task keeps a file open per day instead of sorting its
rows by day first (the planned write's sort spilled to disk; 5M realistic Squid lines on local[2],
warm: 29.4 -> 27.1 s). A task that meets more than 16 days falls back to the sort."""

Progress = Callable[[str, int, int], None]


@dataclass
class SparkCheckResult(CheckResult):
    """A :class:`~analyzer.check.CheckResult` whose ``flows`` is a Spark DataFrame of the
    judged flows (the flow columns, the verdict columns and ``day``); the findings, coverage,
    summary and aggregates are polars frames, as locally."""

    flows_path: str | None = None
    """Where the flows dataset was written (``OUTDIR/flows``), if it was."""

    def with_polars_flows(self) -> CheckResult:
        """The same result with ``flows`` a polars lazy frame over the written dataset, typed as
        the local engine's flows.parquet, for the writers and helpers that read flows
        (remediation, :func:`analyzer.api.finding_flows`). Needs ``output``."""
        if self.flows_path is None:
            raise AnalyzerError("the judged flows were not written: give check_spark an output folder")
        schema = judged_schema(self.policy)
        scan = pl.scan_parquet(f"{self.flows_path}/**/*.parquet", hive_partitioning=True)
        flows = scan.select([pl.col(n).cast(t) for n, t in schema.items() if n != "day"])
        return CheckResult(**{**{f: getattr(self, f) for f in _RESULT_FIELDS}, "flows": flows})


_RESULT_FIELDS = [f.name for f in fields(CheckResult)]


def _spark_type(dtype: pl.DataType):
    from pyspark.sql import types as T

    simple = {
        pl.String: T.StringType(),
        pl.Enum: T.StringType(),
        pl.Categorical: T.StringType(),
        pl.Int8: T.ByteType(),
        pl.Int16: T.ShortType(),
        pl.Int32: T.IntegerType(),
        pl.Int64: T.LongType(),
        pl.UInt8: T.ShortType(),
        pl.UInt16: T.IntegerType(),
        pl.UInt32: T.LongType(),
        pl.Float32: T.FloatType(),
        pl.Float64: T.DoubleType(),
        pl.Boolean: T.BooleanType(),
        pl.Date: T.DateType(),
        pl.Datetime: T.TimestampType(),
    }
    base = dtype.base_type()
    if base is pl.List:
        return T.ArrayType(_spark_type(dtype.inner))
    if base not in simple:
        raise AnalyzerError(f"internal error: no Spark type for the flow column type {dtype}")
    return simple[base]


def spark_schema(schema: pl.Schema):
    """The Spark schema of a polars schema (Enums as strings, times as timestamps)."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(name, _spark_type(dtype), True) for name, dtype in schema.items()])


def judged_schema(policy) -> pl.Schema:
    """The columns of the judged flows dataset: the local engine's flows.parquet plus ``day``."""
    return pl.Schema({**check_flows(empty_flows(), policy).schema, "day": pl.Date})


def _keyed_accumulator(sc):
    from pyspark.accumulators import AccumulatorParam

    class Keyed(AccumulatorParam):
        """Values by key: adding replaces a key's value, so a retried task cannot count twice."""

        def zero(self, value):
            return {}

        def addInPlace(self, a, b):
            a.update(b)
            return a

    return sc.accumulator({}, Keyed())


def _spark_error(exc: Exception) -> AnalyzerError:
    text = str(exc)
    if "maxResultSize" in text:
        return AnalyzerError(
            "the evidence pass sent more than spark.driver.maxResultSize to the driver: raise it "
            "(--spark-conf spark.driver.maxResultSize=4g) or check fewer days at a time (--since/--until)"
        )
    first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
    return AnalyzerError(f"Spark job failed: {first[:300]}")


def _sources(paths: list[str], dns: list[str], format: str | None):
    if format:  # a forced format applies to the logs, not to the DNS evidence files
        return [(s, format) for s in expand(paths)] + ([(s, None) for s in expand(dns)] if dns else [])
    return [(s, None) for s in expand([*paths, *dns])]


def check_spark(
    spark: Any,
    paths: Iterable[str],
    site: str | Site,
    *,
    profile: str | None = None,
    format: str | None = None,
    dns: Iterable[str] | None = None,
    tz: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    last: str | None = None,
    options: ParseOptions | None = None,
    dns_window: str | timedelta | None = None,
    output: str | Path | None = None,
    split_bytes: int = splitting.SPLIT_BYTES,
    max_index_bytes: int = MAX_INDEX_BYTES,
    partitions: int | None = None,
    progress: Progress | None = None,
    baseline: str | Path | pl.DataFrame | None = None,
) -> SparkCheckResult:
    """Check logs against a site's policy on Spark, with the same answer as
    :func:`analyzer.check.run_check` (the same options).

    ``spark`` is an existing SparkSession (a notebook's). Paths are files, globs or folders that
    the driver and every executor see at the same path (a local disk on one machine; a shared
    mount such as ``/dbfs`` or ``/Volumes`` on a cluster). With ``output`` the judged flows are
    written to ``output/flows/`` (Parquet, partitioned by ``day``) and ``result.flows`` reads
    them; without it ``result.flows`` is the judged DataFrame, persisted. Big plain files are
    cut into ranges of ``split_bytes``; the splits are spread over ``partitions`` tasks
    (default: as many as splits, at most 4 per core of the cluster; more than splits leaves
    partitions empty). Example::

        result = check_spark(spark, ["/dbfs/logs/squid"], "/dbfs/site.toml")
        result.findings.filter(pl.col("severity") == "high")
        result.flows.groupBy("verdict").count().show()
    """
    previous = load_baseline(baseline, FINDINGS_SCHEMA) if isinstance(baseline, str | Path) else baseline
    policy = load_policy(site, profile=profile)
    answer_window, use_ttl = attribution.dns_window(dns_window)  # a bad option fails before reading
    zone = tz or (options.tz if options and options.tz != "UTC" else None) or policy.site.timezone
    check_timezone(zone)
    opts = replace(options or ParseOptions(), tz=zone)
    window = resolve_window(since, until, last, zone)
    tell = progress or (lambda stage, done, total: None)
    splits = splitting.plan(_sources(list(paths), list(dns or []), format), opts, split_bytes)
    sc = spark.sparkContext
    parts = max(1, partitions or min(len(splits), 4 * sc.defaultParallelism))

    def ids(n: int = len(splits)):  # ids 0..n-1, consecutive ones per partition
        return spark.range(0, n, numPartitions=max(1, min(parts, n) if n < len(splits) else parts))

    from pyspark.sql.pandas.types import to_arrow_schema  # pyarrow only: no pandas

    schema = spark_schema(judged_schema(policy))
    large = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower() == "true"
    arrow_schema = to_arrow_schema(schema, timezone="UTC", prefers_large_types=large)
    flows_path = str(Path(output) / "flows") if output is not None else None
    frames = []

    def run(frame, mode: str) -> None:  # the action: write the flows (or keep them), run the tasks
        if flows_path is None:
            frames.append(frame.persist())
            frames[-1].count()
        else:
            Path(output).mkdir(parents=True, exist_ok=True)
            with _sql_conf(spark, CONCURRENT_WRITERS):
                frame.write.mode(mode).partitionBy("day").parquet(flows_path)

    read_parts = _keyed_accumulator(sc)
    try:
        tell("reading", 0, 1)
        if any(not s.whole for s in splits):  # a whole file's count is 0, and not needed
            with _no_pandas_warning():
                counted = ids().mapInArrow(count_task(splits), _ddl(COUNT_ROW))
            table = counted.toArrow()
            counts = dict(zip(*(table.column(c).to_pylist() for c in COUNT_ROW.names), strict=True))
            splits = splitting.number(splits, counts)
        task = read_task(splits, opts, Plan(policy, window), arrow_schema, lambda i, p: read_parts.add({i: p}))
        with _no_pandas_warning():
            run(ids().mapInArrow(task, schema), "overwrite")
    except AnalyzerError:
        raise
    except Exception as exc:
        raise _spark_error(exc) from exc
    tell("reading", 1, 1)
    got = read_parts.value
    if sorted(got) != list(range(len(splits))):
        raise AnalyzerError(f"internal error: {len(got)} of {len(splits)} splits came back from the reading pass")
    todo = [i for i in range(len(splits)) if got[i].get("nameable")]
    # The index only when some split holds flows to name (a proxy log's flows name their hosts).
    read, index = _gather(splits, got, opts, answer_window, use_ttl, with_index=bool(todo))
    tell("evidence", 1, 1)
    partials = [got[i]["partial"] for i in range(len(splits))]
    if todo:
        plan = Plan(policy, window, index)
        size = len(pickle.dumps(plan))
        if size > max_index_bytes:
            raise AnalyzerError(
                f"the attribution index is {size / 1e6:,.0f} MB, above the broadcast limit of "
                f"{max_index_bytes / 1e6:,.0f} MB: check fewer days at a time (--since/--until)"
            )
        broadcast = sc.broadcast(plan)
        named = _keyed_accumulator(sc)
        task = name_task(splits, todo, opts, lambda: broadcast.value, arrow_schema, lambda i, b: named.add({i: b}))
        try:
            with _no_pandas_warning():
                run(ids(len(todo)).mapInArrow(task, schema), "append")
        except Exception as exc:
            raise _spark_error(exc) from exc
        broadcast.unpersist()
        if sorted(named.value) != todo:
            raise AnalyzerError(f"internal error: {len(named.value)} of {len(todo)} splits came back from judging")
        partials += [named.value[i] for i in todo]
    tell("judging", 1, 1)
    partial: Partial = merge(*(partial_from_bytes(b) for b in partials))
    if flows_path is not None:
        flows = spark.read.parquet(flows_path)
    else:
        flows = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    return SparkCheckResult(
        flows=flows,
        read=read,
        policy=policy,
        timezone=zone,
        window=window,
        flows_path=flows_path,
        **result_fields(partial, policy, previous),
    )


@contextlib.contextmanager
def _sql_conf(spark, settings: dict[str, str]):
    """``settings`` on the session for the block, the session's own values (or none) after."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


@contextlib.contextmanager
def _no_pandas_warning():
    """mapInArrow checks the pandas version on the driver (it uses none here) and warns about
    pandas 3; the warning says nothing about this job."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        yield


def _ddl(schema) -> str:
    names = {"int64": "long"}
    return ", ".join(f"{f.name} {names[str(f.type)]}" for f in schema)


def _gather(
    splits: list[splitting.Split],
    got: dict[int, dict],
    opts: ParseOptions,
    answer_window: timedelta = attribution.DEFAULT_WINDOW,
    use_ttl: bool = False,
    with_index: bool = True,
):
    """The reading pass's parts on the driver: file summaries (parts of a file added in order),
    rejects and DNS records in input order, and the attribution index (None without
    ``with_index``: the evidence is then not even decoded)."""
    files: list[FileSummary] = []
    rejects, dns, evidence = [], [], []
    last_file = None
    for s in splits:
        parts = got[s.id]
        if "error" in parts:
            raise pickle.loads(parts["error"])
        summary = pickle.loads(parts["summary"])
        if s.file == last_file and not s.whole:
            files[-1] = splitting.add(files[-1], summary)
        else:
            files.append(summary)
        last_file = s.file
        for name, into in (("rejects", rejects), ("dns", dns)):
            if name in parts:
                into.append(from_ipc(parts[name]))
        if with_index and "evidence" in parts:
            evidence.append(evidence_from_bytes(parts["evidence"]))
    # A file named explicitly of which no line parses is an error locally too (read.read_file).
    named = {s.file.name for s in splits if not s.whole and not s.file.from_folder}
    for f in files:
        if f.file in named and f.rejects and not f.records:
            first = next(r for r in rejects if r.height and r["source_file"][0] == f.file)
            raise nothing_parses(f, first["reason"][0])
    dns_frame = pl.concat(dns, how="vertical") if dns else None
    index = None
    if with_index:
        index = attribution.index_of(
            attribution.combine(evidence),
            dns_frame,
            declared=parsers.declared_evidence(),
            window=answer_window,
            use_ttl=use_ttl,
        )
    read = ReadResult(
        flows=empty_flows(),
        rejects=pl.concat(rejects, how="vertical") if rejects else empty_rejects(),
        files=files,
        options=opts,
        evidence={"dns": dns_frame} if dns_frame is not None else {},
    )
    return read, index
