"""What runs in a Spark task: Arrow batches in, polars inside, Arrow batches out. No pyspark
and no pandas here; the functions take the task's iterator of ``pyarrow.RecordBatch`` (split ids)
and are tested without Spark.

- :func:`count_task`: newlines per byte range (the numbering pass);
- :func:`read_task`: each split read, its flows windowed; those that attribution cannot change
  judged at once and sent out as Arrow batches (with their ``day``); for the driver, through
  ``emit``: the split's :class:`~analyzer.aggregates.Partial` as IPC bytes, what the attribution
  index needs (PAN-OS URL sessions, host/address pairs, whether IP-only flows exist), DNS
  records, rejects and its part of the file summary;
- :func:`name_task`: the splits with flows to name read again; those flows attributed and
  judged by the local engine's batch function (:func:`analyzer.check.judge_batch`).

An iterator of no batches (an empty partition) yields nothing.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterator
from dataclasses import fields, replace

import polars as pl
import pyarrow as pa

from ... import attribution, parsers
from ...aggregates import Partial, fold, merge
from ...check import Plan, check_flows, in_window, judge_batch
from ...errors import AnalyzerError
from ...parsers.base import ParseOptions
from ...pipeline import evidence as pipeline_evidence
from ...timewindow import TimeWindow
from .splits import Split, count_newlines, streamed

COUNT_ROW = pa.schema([("id", pa.int64()), ("newlines", pa.int64())])


def _ids(batches: Iterator[pa.RecordBatch]) -> Iterator[int]:
    for batch in batches:
        yield from batch.column("id").to_pylist()


def ipc(frame: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes (types kept, Enum included)."""
    buf = io.BytesIO()
    frame.write_ipc(buf)
    return buf.getvalue()


def from_ipc(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))


def partial_bytes(partial: Partial) -> bytes:
    """A partial as bytes: each frame as Arrow IPC, and its count of flows outside the window."""
    frames = {f.name: ipc(getattr(partial, f.name)) for f in fields(partial) if f.name != "outside_window"}
    return pickle.dumps((frames, partial.outside_window))


def partial_from_bytes(data: bytes) -> Partial:
    frames, outside = pickle.loads(data)
    return Partial(**{name: from_ipc(b) for name, b in frames.items()}, outside_window=outside)


def count_task(splits: list[Split]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches):
        ids = list(_ids(batches))
        if ids:
            counts = [count_newlines(splits[i]) for i in ids]
            columns = [pa.array(ids, pa.int64()), pa.array(counts, pa.int64())]
            yield pa.RecordBatch.from_arrays(columns, schema=COUNT_ROW)

    return run


def flow_evidence(flows: pl.DataFrame) -> attribution.EvidenceParts:
    """What the attribution index needs from a batch of (windowed) flows
    (:func:`analyzer.attribution.evidence_parts`), by the registry's declarations; the
    host/address pairs distinct, without the client and line (the index does not use them for
    pairs), so that less travels to the driver."""
    parts = attribution.evidence_parts(flows, parsers.declared_evidence())
    parts.pairs = parts.pairs.with_columns(
        pl.lit(None, pl.String).alias("client"), pl.lit(None, pl.Int64).alias("line_no")
    ).unique(maintain_order=True)
    return parts


def evidence_bytes(parts: list[attribution.EvidenceParts]) -> bytes:
    """A split's evidence parts, combined, as bytes (each frame as Arrow IPC). The pairs travel
    with their sighting times grouped per pair: Squid's next hops give one pair per line, whose
    rows repeated the host, address and file name (5M realistic lines: the tasks' results
    outgrew the driver's memory, "TaskResultLost"); a time is 8 bytes."""
    one = attribution.combine(parts)
    sessions = {keys: ipc(frame) for keys, frame in one.sessions.items()}
    pairs = one.pairs.unique()
    grouped = pairs.group_by([c for c in pairs.columns if c != "time"]).agg(pl.col("time").sort())
    return pickle.dumps((sessions, ipc(grouped), pairs.columns, one.ip_only, one.carriers))


def evidence_from_bytes(data: bytes) -> attribution.EvidenceParts:
    sessions, grouped, columns, ip_only, carriers = pickle.loads(data)
    pairs = from_ipc(grouped).explode("time").select(columns)
    return attribution.EvidenceParts({keys: from_ipc(b) for keys, b in sessions.items()}, pairs, ip_only, carriers)


def read_task(
    splits: list[Split],
    options: ParseOptions,
    plan: Plan,
    schema: pa.Schema,
    emit: Callable[[int, dict], None],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The reading pass, as the local engine's (:class:`analyzer.check._LocalRun`): each split
    read, its flows windowed; the flows attribution cannot change judged at once (no index) and
    sent out as Arrow; for the driver (``emit(id, parts)``): its partial, its file summary part,
    rejects, DNS records, what the attribution index needs and whether it holds flows to name
    (only those splits are read again, by :func:`name_task`)."""

    def one(i: int) -> Iterator[pa.RecordBatch]:
        parts: dict = {"nameable": False}
        evidence, dns, partials = [], [], []
        nameable_expr = pipeline_evidence.nameable()
        try:
            for kind, item in streamed(splits[i], options):
                if kind == "summary":
                    summary, rejects = item
                    parts["summary"] = pickle.dumps(summary)
                    if rejects:
                        parts["rejects"] = ipc(pl.concat(rejects, how="vertical"))
                elif kind == "flows":
                    kept, outside = in_window(item, plan.window)
                    evidence.append(flow_evidence(kept))
                    nameable = kept.select(nameable_expr.any()).item()
                    parts["nameable"] |= nameable
                    judged = check_flows(kept.filter(~nameable_expr) if nameable else kept, plan.policy)
                    partials.append(fold(judged, outside))
                    yield from to_arrow(with_day(judged), schema).to_batches()
                else:
                    dns.append(item)
        except AnalyzerError as exc:  # a bad input: one line on the driver, as locally
            emit(i, {"error": pickle.dumps(exc)})
            return
        if evidence:
            parts["evidence"] = evidence_bytes(evidence)
        if dns:
            parts["dns"] = ipc(pl.concat(dns, how="vertical"))
        parts["partial"] = partial_bytes(merge(*partials))
        emit(i, parts)

    def run(batches):
        for i in _ids(batches):
            yield from one(i)

    return run


def to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """A polars frame as Arrow of exactly ``schema`` (Spark's types: plain strings for Enums)."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(schema)


def with_day(judged: pl.DataFrame) -> pl.DataFrame:
    """The judged flows with ``day`` (the UTC date of ``time``), the flows dataset's partition."""
    return judged.with_columns(pl.col("time").dt.date().alias("day"))


def name_task(
    splits: list[Split],
    todo: list[int],
    options: ParseOptions,
    plan: Callable[[], Plan],
    schema: pa.Schema,
    emit: Callable[[int, bytes], None],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The judging pass over the splits that hold flows to name (``todo[k]`` for id ``k``):
    each read again, its nameable flows (windowed) attributed and judged by
    :func:`analyzer.check.judge_batch` with the index (``plan()``: a broadcast's value), sent
    out as Arrow; ``emit(split, bytes)`` receives the split's partial."""

    def run(batches):
        for k in _ids(batches):
            i = todo[k]
            the_plan = plan()
            nameable_expr = pipeline_evidence.nameable()
            partials: list[Partial] = []
            for kind, item in streamed(splits[i], options):
                if kind != "flows":
                    continue
                kept, _outside = in_window(item, the_plan.window)  # counted by the reading pass
                judged, partial = judge_batch(kept.filter(nameable_expr), replace(the_plan, window=TimeWindow()))
                partials.append(partial)
                yield from to_arrow(with_day(judged), schema).to_batches()
            emit(i, partial_bytes(merge(*partials)))

    return run
