"""findings.json, its findings serialized by polars a slice at a time, holds the same data as the
whole document dumped at once, one finding per line, with every control character inert."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from analyzer.pipeline.check import run_check
from analyzer.reports import machine

from ..conftest import SAMPLES

# Raw C0 (but the newlines between lines), DEL, C1 and bidi controls: none may be in the file.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def result():
    return run_check([str(SAMPLES)], str(SAMPLES / "site.toml"))


@pytest.mark.parametrize("rows_per_slice", [1, 7, 10_000])
def test_findings_json_holds_the_whole_document(result, rows_per_slice, tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "ROWS_PER_SLICE", rows_per_slice)
    findings = result.findings
    try:
        for frame in (findings, findings.clear()):
            result.findings = frame
            text = machine.write_findings_json(result, tmp_path).read_text(encoding="utf-8")
            assert json.loads(text) == machine.findings_document(result)
            lines = text.splitlines()
            start = lines.index('  "findings": [') if frame.height else None
            if start is not None:  # one finding per line, in the findings' order
                rows = lines[start + 1 : start + 1 + frame.height]
                ids = [json.loads(line.strip().rstrip(","))["finding_id"] for line in rows]
                assert ids == frame["finding_id"].to_list()
            else:
                assert '  "findings": [],' in lines
    finally:
        result.findings = findings


def test_findings_json_keeps_hostile_text_inert_and_exact(result, tmp_path):
    hostile = 'evil\x1b[31m\x00\x07\x7f\x85\x9b\u202e\u2028"\\\t\né 名'
    findings = result.findings
    try:
        result.findings = findings.head(3).with_columns(
            pl.lit(hostile).alias("host"),
            pl.lit(hostile).alias("reason"),
            pl.lit(None, pl.String).alias("entry"),
            pl.col("evidence").list.eval(pl.struct(pl.lit(hostile).alias("file"), pl.element().struct.field("line"))),
        )
        text = machine.write_findings_json(result, tmp_path).read_text(encoding="utf-8")
        assert not RAW_CONTROL.search(text)
        document = json.loads(text)
        assert document == machine.findings_document(result)
        assert document["findings"][0]["host"] == hostile and document["findings"][0]["entry"] is None
        assert document["findings"][0]["evidence"][0]["file"] == hostile
    finally:
        result.findings = findings
