"""What runs in a Spark task: Arrow batches in, polars inside, Arrow batches out. No pyspark
and no pandas here; the functions take the task's iterator of ``pyarrow.RecordBatch`` (split ids)
and are tested without Spark.

- :func:`count_task`: newlines per byte range (the numbering pass);
- :func:`evidence_task`: each split read, its flows windowed, and what the attribution index
  needs from them (PAN-OS URL sessions, host/address pairs, whether IP-only flows exist), its
  DNS records, its rejects and its part of the file summary: rows of (id, kind, payload);
- :func:`judge_task`: each split read again and judged by the batch function of the local engine
  (:func:`analyzer.check.judge_batch`); judged flows out as Arrow batches (with their ``day``),
  the split's :class:`~analyzer.aggregates.Partial` handed to ``emit`` as IPC bytes.

An iterator of no batches (an empty partition) yields nothing.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterator
from dataclasses import fields

import polars as pl
import pyarrow as pa

from ... import attribution
from ...aggregates import Partial, merge
from ...check import Plan, in_window, judge_batch
from ...errors import AnalyzerError
from ...parsers.base import ParseOptions
from ...timewindow import TimeWindow
from .splits import Split, count_newlines, streamed

EVIDENCE_ROW = pa.schema([("id", pa.int64()), ("kind", pa.string()), ("payload", pa.binary())])
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


def flow_evidence(flows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, bool, bool]:
    """What the attribution index needs from a batch of (windowed) flows: the PAN-OS URL sessions,
    the host/address pairs the flows show (distinct: the client and line, which the index does
    not use for them, left out), whether some flow is IP-only, whether some may carry evidence.
    The index of all batches' parts is the index of all the flows (see ``engine.build_index``)."""
    sessions = attribution._url_sessions(flows).collect()
    pairs = (
        attribution.evidence_from_flows(flows)
        .with_columns(pl.lit(None, pl.String).alias("client"), pl.lit(None, pl.Int64).alias("line_no"))
        .unique(maintain_order=True)
    )
    stats = flows.select(attribution.IP_ONLY.any().alias("a"), attribution.CARRIES_EVIDENCE.any().alias("b"))
    return sessions, pairs, bool(stats["a"][0]), bool(stats["b"][0])


def evidence_task(
    splits: list[Split], options: ParseOptions, window: TimeWindow
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def rows(i: int) -> Iterator[tuple[str, bytes]]:
        sessions, pairs, dns = [], [], []
        ip_only = carriers = False
        try:
            for kind, item in streamed(splits[i], options):
                if kind == "summary":
                    summary, rejects = item
                    yield "summary", pickle.dumps(summary)
                    if rejects:
                        yield "rejects", ipc(pl.concat(rejects, how="vertical"))
                elif kind == "flows":
                    s, p, a, b = flow_evidence(in_window(item, window)[0])
                    sessions.append(s)
                    pairs.append(p)
                    ip_only, carriers = ip_only or a, carriers or b
                else:
                    dns.append(item)
        except AnalyzerError as exc:  # a bad input: one line on the driver, as locally
            yield "error", pickle.dumps(exc)
            return
        if sessions:
            yield "sessions", ipc(pl.concat(sessions, how="vertical"))
            yield "pairs", ipc(pl.concat(pairs, how="vertical").unique(maintain_order=True))
        if dns:
            yield "dns", ipc(pl.concat(dns, how="vertical"))
        yield "stats", pickle.dumps((ip_only, carriers))

    def run(batches):
        for i in _ids(batches):
            out = list(rows(i))
            yield pa.RecordBatch.from_arrays(
                [pa.array([i] * len(out), pa.int64()), pa.array([k for k, _ in out]), pa.array([p for _, p in out])],
                schema=EVIDENCE_ROW,
            )

    return run


def to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """A polars frame as Arrow of exactly ``schema`` (Spark's types: plain strings for Enums)."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(schema)


def with_day(judged: pl.DataFrame) -> pl.DataFrame:
    """The judged flows with ``day`` (the UTC date of ``time``), the flows dataset's partition."""
    return judged.with_columns(pl.col("time").dt.date().alias("day"))


def judge_task(
    splits: list[Split],
    options: ParseOptions,
    plan: Callable[[], Plan],
    schema: pa.Schema,
    emit: Callable[[int, bytes], None],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``plan()`` gives the plan (a broadcast's value: read once per task); ``emit(id, bytes)``
    receives each split's partial (an accumulator keyed by split, so a retried task replaces
    its earlier value instead of adding to it)."""

    def run(batches):
        for i in _ids(batches):
            the_plan = plan()
            partials: list[Partial] = []
            for kind, item in streamed(splits[i], options):
                if kind != "flows":
                    continue
                judged, partial = judge_batch(item, the_plan)
                partials.append(partial)
                yield from to_arrow(with_day(judged), schema).to_batches()
            emit(i, partial_bytes(merge(*partials)))

    return run
