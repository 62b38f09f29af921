"""Ranges of a file read without Spark: each line read exactly once with its true number, at any
range size; the task functions on empty partitions; partials through bytes and back."""

from __future__ import annotations

import random

import polars as pl
import pytest

from analyzer import attribution
from analyzer.aggregates import findings_of, fold, merge
from analyzer.check import Plan, judge_batch
from analyzer.engines.spark import splits as splitting
from analyzer.engines.spark import tasks
from analyzer.parsers.base import ParseOptions
from analyzer.pipeline.read import read_logs
from analyzer.policy import load_policy
from analyzer.sources import SourceFile, iter_chunks
from tests.conftest import SAMPLES


def _text(rng: random.Random, n: int, widths: tuple[int, ...]) -> bytes:
    lines = []
    for i in range(n):
        width = rng.choice(widths)
        body = "".join(rng.choice("abcé€ xyz") for _ in range(width))
        lines.append(f"{i} {body}" + ("\r" if i % 7 == 0 else ""))
    data = "\n".join(lines).encode("utf-8")
    return b"\xef\xbb\xbf" + data + (b"\n" if rng.random() < 0.5 else b"")


def _ranges_lines(src: SourceFile, size: int) -> pl.DataFrame:
    plan = [
        splitting.Split(i, src, "squid", start, min(start + size, src.size))
        for i, start in enumerate(range(0, src.size, size))
    ]
    plan = splitting.number(plan, {s.id: splitting.count_newlines(s) for s in plan})
    frames = [splitting.lines_frame(data, first)[0] for s in plan for first, data in splitting._line_blocks(s)]
    return pl.concat(frames)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("size", [1, 7, 4096, 65536])
def test_every_line_once_with_its_number(seed, size, tmp_path):
    rng = random.Random(seed)
    path = tmp_path / "x.log"
    # Ranges of a byte or a few over short lines; of pages over lines longer than a page.
    path.write_bytes(_text(rng, 40, (0, 1, 2, 5, 12)) if size < 10 else _text(rng, 300, (0, 1, 80, 5000, 9000)))
    src = SourceFile(path, str(path))
    want = pl.concat([c.lines for c in iter_chunks(src)])
    got = _ranges_lines(src, size)
    assert got.equals(want)


def test_plan_splits_big_plain_squid_only(tmp_path):
    squid = tmp_path / "access.log"
    squid.write_bytes((SAMPLES / "squid" / "access.log").read_bytes() * 20)
    sources = [(SourceFile(squid, str(squid)), None)]
    sources += [(SourceFile(p, str(p)), None) for p in sorted((SAMPLES / "winfirewall").iterdir())]
    sources += [(SourceFile(SAMPLES / "squid" / "access.log.1.gz", "gz"), None)]
    got = splitting.plan(sources, ParseOptions(), split_bytes=4096)
    ranges = [s for s in got if s.file.path == squid]
    assert len(ranges) == -(-squid.stat().st_size // 4096) and all(s.format == "squid" for s in ranges)
    assert [s.whole for s in got if s.file.path != squid] == [True, True, True]  # pfirewall, gzip: whole
    assert [s.id for s in got] == list(range(len(got)))


def test_read_split_accounts_for_every_line(tmp_path):
    squid = tmp_path / "access.log"
    squid.write_bytes((SAMPLES / "squid" / "access.log").read_bytes() * 10)
    src = SourceFile(squid, str(squid))
    plan = splitting.plan([(src, None)], ParseOptions(), split_bytes=4096)
    plan = splitting.number(plan, {s.id: splitting.count_newlines(s) for s in plan})
    flows: list[pl.DataFrame] = []
    summary, rejects = None, []
    for s in plan:
        part, rej = splitting.read_split(s, ParseOptions(), lambda kind, frame: flows.append(frame))
        summary = part if summary is None else splitting.add(summary, part)
        rejects += rej
    local = read_logs([str(squid)])
    assert summary.as_row() == local.files[0].as_row()
    key = ["source_file", "line_no"]
    assert pl.concat(flows).sort(key).equals(local.flows.sort(key))
    assert pl.concat(rejects).sort(key).equals(local.rejects.sort(key))


def test_tasks_yield_nothing_for_an_empty_partition():
    plan = Plan(load_policy(str(SAMPLES / "site.toml")))
    got = []
    assert list(tasks.count_task([])(iter([]))) == []
    assert list(tasks.read_task([], ParseOptions(), plan, None, lambda i, p: got.append(i))(iter([]))) == []
    name = tasks.name_task([], [], ParseOptions(), lambda: plan, None, lambda i, b: got.append(i))
    assert list(name(iter([]))) == [] and got == []


def test_partials_survive_bytes():
    policy = load_policy(str(SAMPLES / "site.toml"))
    flows = read_logs([str(SAMPLES / "squid")]).flows
    judged, partial = judge_batch(flows, Plan(policy))
    back = tasks.partial_from_bytes(tasks.partial_bytes(partial))
    assert findings_of(back).equals(findings_of(partial))
    assert findings_of(merge(back, fold(judged.head(0)))).equals(findings_of(fold(judged)))


def test_evidence_travels_compact_and_comes_back_whole():
    # Squid next hops and PAN-OS URL sessions: the pairs and sessions the index is built from.
    flows = read_logs([str(SAMPLES / "squid"), str(SAMPLES / "paloalto")]).flows
    parts = tasks.flow_evidence(flows)
    assert parts.pairs.height > 0
    repeated = pl.concat([parts.pairs, parts.pairs.head(3)])  # duplicate sightings travel once
    data = tasks.evidence_bytes([attribution.EvidenceParts(parts.sessions, repeated, True, True)])
    back = tasks.evidence_from_bytes(data)
    key = list(parts.pairs.columns)
    assert back.pairs.columns == key
    assert back.pairs.sort(key, nulls_last=True).equals(parts.pairs.unique().sort(key, nulls_last=True))
    assert back.sessions.keys() == parts.sessions.keys()
    assert (back.ip_only, back.carriers) == (True, True)
