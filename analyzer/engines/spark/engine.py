"""The check on Spark: the local engine's batch function and merge, run in Spark tasks.

What runs where:

- driver: expand the paths, detect each file's format (as locally), plan the splits; build the
  attribution index from the evidence pass's parts; merge the partials; the reports;
- tasks (``mapInArrow`` over one split id per partition): count newlines per range; read a
  split and send back the attribution evidence, DNS records, rejects and its file summary part
  (the evidence pass); read it again, attribute, scope, match and judge each chunk with
  :func:`analyzer.check.judge_batch` (the broadcast :class:`~analyzer.check.Plan` holds the
  index), return the judged flows as Arrow, and the split's partial aggregates through an
  accumulator keyed by split id (a retried task replaces its value: nothing counts twice).
"""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ... import attribution
from ...aggregates import Partial, coverage_of, findings_of, merge, summary_of
from ...check import CheckResult, Plan, _window, check_flows
from ...errors import AnalyzerError, InputError
from ...parsers.base import ParseOptions
from ...policy import Site, load_policy
from ...read import FileSummary, ReadResult, check_timezone
from ...schema import empty_flows, empty_rejects
from ...sources import expand
from . import splits as splitting
from .tasks import COUNT_ROW, EVIDENCE_ROW, count_task, evidence_task, from_ipc, judge_task, partial_from_bytes

MAX_INDEX_BYTES = 1024**3
"""Largest attribution index (with the policy, pickled) broadcast to the judging tasks: every
executor's Python worker holds one copy. Beyond it the check stops with a one-line error."""

Progress = Callable[[str, int, int], None]


@dataclass
class SparkCheckResult(CheckResult):
    """A :class:`~analyzer.check.CheckResult` whose ``flows`` is a Spark DataFrame of the
    judged flows (the flow columns, the verdict columns and ``day``); the findings, coverage,
    summary and aggregates are polars frames, as locally."""

    flows_path: str | None = None
    """Where the flows dataset was written (``OUTDIR/flows``), if it was."""


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


def build_index(
    sessions: pl.DataFrame | None, pairs: pl.DataFrame | None, ip_only: bool, carriers: bool, dns: pl.DataFrame | None
) -> attribution.Index | None:
    """The index :func:`analyzer.attribution.index` builds from all the flows, from the parts
    each task found (sessions, host/address pairs, whether IP-only flows and evidence carriers
    exist) and the DNS records."""
    has_dns = dns is not None and dns.height > 0
    if not (ip_only and (has_dns or carriers)):
        return None
    pairs = pairs if pairs is not None else attribution.empty_evidence()
    all_evidence = pl.concat([pairs, attribution.conform_evidence(dns)]) if has_dns else pairs
    sessions = sessions if sessions is not None else attribution._url_sessions(empty_flows()).collect()
    if all_evidence.is_empty() and sessions.is_empty():
        return None
    found = attribution.address_names(all_evidence, attribution.DEFAULT_WINDOW).sort("time")
    return attribution.Index(sessions, found if all_evidence.height else None, attribution.DEFAULT_WINDOW, False)


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
    output: str | Path | None = None,
    split_bytes: int = splitting.SPLIT_BYTES,
    max_index_bytes: int = MAX_INDEX_BYTES,
    partitions: int | None = None,
    progress: Progress | None = None,
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
    policy = load_policy(site, profile=profile)
    zone = tz or (options.tz if options and options.tz != "UTC" else None) or policy.site.timezone
    check_timezone(zone)
    opts = ParseOptions(tz=zone, squid_logformat=options.squid_logformat if options else None)
    window = _window(since, until, last, zone)
    tell = progress or (lambda stage, done, total: None)
    splits = splitting.plan(_sources(list(paths), list(dns or []), format), opts, split_bytes)
    sc = spark.sparkContext
    parts = max(1, partitions or min(len(splits), 4 * sc.defaultParallelism))

    def ids():  # split ids, consecutive ones per partition
        return spark.range(0, len(splits), numPartitions=parts)

    try:
        tell("reading", 0, 3)
        if any(not s.whole for s in splits):  # a whole file's count is 0, and not needed
            with _no_pandas_warning():
                counted = ids().mapInArrow(count_task(splits), _ddl(COUNT_ROW))
            table = counted.toArrow()
            counts = dict(zip(*(table.column(c).to_pylist() for c in COUNT_ROW.names), strict=True))
            splits = splitting.number(splits, counts)
        with _no_pandas_warning():
            evidence = ids().mapInArrow(evidence_task(splits, opts, window), _ddl(EVIDENCE_ROW))
        evidence = evidence.toArrow()
    except AnalyzerError:
        raise
    except Exception as exc:
        raise _spark_error(exc) from exc
    tell("reading", 1, 3)
    read, index = _gather(splits, evidence, opts)
    tell("evidence", 1, 1)

    plan = Plan(policy, window, index)
    size = len(pickle.dumps(plan))
    if size > max_index_bytes:
        raise AnalyzerError(
            f"the attribution index is {size / 1e6:,.0f} MB, above the broadcast limit of "
            f"{max_index_bytes / 1e6:,.0f} MB: check fewer days at a time (--since/--until)"
        )
    broadcast = sc.broadcast(plan)
    partials = _keyed_accumulator(sc)
    columns = judged_schema(policy)
    schema = spark_schema(columns)
    from pyspark.sql.pandas.types import to_arrow_schema  # pyarrow only: no pandas

    large = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower() == "true"
    arrow_schema = to_arrow_schema(schema, timezone="UTC", prefers_large_types=large)
    task = judge_task(splits, opts, lambda: broadcast.value, arrow_schema, lambda i, b: partials.add({i: b}))
    with _no_pandas_warning():
        judged = ids().mapInArrow(task, schema)
    flows_path = None
    try:
        if output is not None:
            flows_path = str(Path(output) / "flows")
            Path(output).mkdir(parents=True, exist_ok=True)
            judged.write.mode("overwrite").partitionBy("day").parquet(flows_path)
            flows = spark.read.parquet(flows_path)
        else:
            flows = judged.persist()
            flows.count()  # the action that runs the judging tasks
    except Exception as exc:
        raise _spark_error(exc) from exc
    tell("judging", 1, 1)
    got = partials.value
    if sorted(got) != list(range(len(splits))):
        raise AnalyzerError(f"internal error: partial aggregates of {len(got)} of {len(splits)} splits came back")
    partial: Partial = merge(*(partial_from_bytes(got[i]) for i in range(len(splits))))
    broadcast.unpersist()
    return SparkCheckResult(
        flows=flows,
        findings=findings_of(partial),
        coverage=coverage_of(partial, policy),
        read=read,
        policy=policy,
        timezone=zone,
        summary=summary_of(partial),
        window=window,
        outside_window=partial.outside_window,
        aggregates=partial,
        flows_path=flows_path,
    )


@contextlib.contextmanager
def _no_pandas_warning():
    """mapInArrow checks the pandas version on the driver (it uses none here) and warns about
    pandas 3; the warning says nothing about this job."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        yield


def _ddl(schema) -> str:
    names = {"int64": "long", "string": "string", "binary": "binary"}
    return ", ".join(f"{f.name} {names[str(f.type)]}" for f in schema)


def _gather(splits: list[splitting.Split], evidence, opts: ParseOptions) -> tuple[ReadResult, attribution.Index | None]:
    """The evidence pass's rows on the driver: file summaries (parts of a file added in order),
    rejects and DNS records in input order, and the attribution index."""
    by_split: dict[int, dict[str, list[bytes]]] = {}
    for i, kind, payload in zip(*(evidence.column(c).to_pylist() for c in EVIDENCE_ROW.names), strict=True):
        by_split.setdefault(i, {}).setdefault(kind, []).append(payload)
    files: list[FileSummary] = []
    rejects, dns, sessions, pairs = [], [], [], []
    ip_only = carriers = False
    last_file = None
    for s in splits:
        rows = by_split.get(s.id, {})
        if "error" in rows:
            raise pickle.loads(rows["error"][0])
        summary = pickle.loads(rows["summary"][0])
        if s.file == last_file and not s.whole:
            files[-1] = splitting.add(files[-1], summary)
        else:
            files.append(summary)
        last_file = s.file
        rejects += [from_ipc(b) for b in rows.get("rejects", [])]
        dns += [from_ipc(b) for b in rows.get("dns", [])]
        sessions += [from_ipc(b) for b in rows.get("sessions", [])]
        pairs += [from_ipc(b) for b in rows.get("pairs", [])]
        for b in rows.get("stats", []):
            a, c = pickle.loads(b)
            ip_only, carriers = ip_only or a, carriers or c
    # A file named explicitly of which no line parses is an error locally too (read._read_one).
    named = {s.file.name for s in splits if not s.whole and not s.file.from_folder}
    for f in files:
        if f.file in named and f.rejects and not f.records:
            first = next(r for r in rejects if r.height and r["source_file"][0] == f.file)
            raise InputError(
                f"nothing parses as {f.format}: all {f.rejects} lines rejected "
                f"(first at line {f.first_reject_line}: {first['reason'][0]})",
                file=f.file,
            )
    dns_frame = pl.concat(dns, how="vertical") if dns else None
    index = build_index(
        pl.concat(sessions, how="vertical") if sessions else None,
        pl.concat(pairs, how="vertical") if pairs else None,
        ip_only,
        carriers,
        dns_frame,
    )
    read = ReadResult(
        flows=empty_flows(),
        rejects=pl.concat(rejects, how="vertical") if rejects else empty_rejects(),
        files=files,
        options=opts,
        evidence={"dns": dns_frame} if dns_frame is not None else {},
    )
    return read, index
