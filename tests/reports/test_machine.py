"""findings.json written a slice of findings at a time is the text of the whole document."""

from __future__ import annotations

import json

import pytest

from analyzer.controls import dumps
from analyzer.pipeline.check import run_check
from analyzer.reports import machine

from ..conftest import SAMPLES


@pytest.mark.parametrize("rows_per_slice", [1, 7, 10_000])
def test_findings_json_streamed_is_the_whole_document(rows_per_slice, tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "ROWS_PER_SLICE", rows_per_slice)
    result = run_check([str(SAMPLES)], str(SAMPLES / "site.toml"))
    for findings in (result.findings, result.findings.clear()):
        result.findings = findings
        path = machine.write_findings_json(result, tmp_path)
        whole = dumps(machine.findings_document(result), indent=2) + "\n"  # inert, as every JSON output
        assert path.read_text(encoding="utf-8") == whole
        assert len(json.loads(whole)["findings"]) == findings.height
    first = json.loads(whole)
    assert first["findings"] == [] and first["coverage"]
