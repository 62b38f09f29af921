"""Golden files over a fixed list of the shipped samples, and byte-identical reruns of every output.

The goldens (tests/golden/reports/) are plain text so a review reads what changed. When the
reports change on purpose, regenerate them with ``make goldens`` and read the diff. New samples
do not change them: the list below is fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.pipeline.check import run_check
from analyzer.reports import WRITERS
from tests.conftest import ROOT

GOLDEN_FILES = ("report.md", "findings.csv", "coverage.csv")
SAMPLES = (
    "dnscsv/cas-dns-client.csv",
    *("paloalto/pa3220-export-traffic.csv", "paloalto/pa3220-export-url.csv", "paloalto/pa3220-traffic-10.2.log"),
    *("paloalto/pa3220-url-10.2.log", "paloalto/pa820-8.1.log"),
    *("squid/access-combined.log", "squid/access-squid34.log", "squid/access.log.1.gz", "squid/access.log"),
    "squid/hierarchy.log",
    *("winfirewall/pfirewall.log.old", "winfirewall/pfirewall.log", "zeekdns/dns.log"),
)
"""The samples the goldens were made from (those of data/samples a folder run reads), one by one."""


def write_all(outdir: Path) -> None:
    # Paths in the evidence are as given, relative to the repository, like the README's command.
    result = run_check([f"data/samples/{s}" for s in SAMPLES], "data/samples/site.toml")
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
def test_golden(outputs, name, golden):
    golden(f"reports/{name}", (outputs[0] / name).read_text(encoding="utf-8"))


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
