"""Golden files over the shipped samples, and byte-identical reruns of every output.

The goldens (tests/reports/golden/) are plain text so a review reads what changed. When the
samples or the reports change on purpose, regenerate them with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports/test_report_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.check import run_check
from analyzer.reports import WRITERS

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = ("report.md", "findings.csv", "coverage.csv")


def write_all(outdir: Path) -> None:
    # Paths in the evidence are as given, relative to the repository, like the README's command.
    result = run_check(["data/samples"], "data/samples/site.toml")
    for write in WRITERS.values():
        write(result, outdir)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("run1"), tmp_path_factory.mktemp("run2")
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        write_all(first)
        write_all(second)
    finally:
        os.chdir(here)
    return first, second


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden(outputs, name):
    produced = (outputs[0] / name).read_text(encoding="utf-8")
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8", newline="\n")
    assert golden.exists(), f"{golden} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert produced == golden.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"
    )


def test_reruns_are_byte_identical(outputs):
    first, second = outputs
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert set(names) >= {
        "report.html",
        "report.md",
        "findings.json",
        "findings.csv",
        "coverage.csv",
        "flows.parquet",
        "charts/timeline.png",
        "charts/unexpected.png",
        "charts/coverage.png",
    }
    assert names == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
    different = [n for n in names if (first / n).read_bytes() != (second / n).read_bytes()]
    assert different == []


def test_samples_report_has_every_section(outputs):
    text = (outputs[0] / "report.md").read_text(encoding="utf-8")
    for heading in ("## Verdict at a glance", "## Required traffic blocked or failing", "## Unexpected traffic"):
        assert heading in text
    assert "blocked-required" in text and "unexpected-allowed" in text
