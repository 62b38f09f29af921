"""What-if: the samples' recorded flows judged again under another policy, from flows.parquet."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from analyzer.check import run_check
from analyzer.errors import AnalyzerError
from analyzer.policy import load_policy
from analyzer.reports import WRITERS
from analyzer.whatif import OUTCOMES, whatif, whatif_markdown, write_whatif

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SITE = "data/samples/site.toml"


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    """A check's OUTDIR over a copy of the samples that is deleted afterwards: what-if has only
    flows.parquet and findings.json to go on, no log to parse again."""
    work = tmp_path_factory.mktemp("whatif")
    here = Path.cwd()
    os.chdir(work)
    try:
        shutil.copytree(ROOT / "data/samples", work / "data/samples")
        result = run_check(["data/samples"], SITE)
        for name in ("findings.json", "flows.parquet"):
            WRITERS[name](result, work / "out")
        shutil.rmtree(work / "data/samples/squid")  # the logs are gone; the site file stays
        yield work / "out"
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def to_2025(outdir):
    here = Path.cwd()
    os.chdir(outdir.parent)
    try:
        return whatif(outdir, load_policy(SITE, profile="wsus-2025"))
    finally:
        os.chdir(here)


def test_golden_cm2007_to_wsus_2025(to_2025, tmp_path):
    written = write_whatif(to_2025, tmp_path)
    assert [p.name for p in written] == ["whatif.csv", "whatif.json", "whatif.md"]
    for name in ("whatif.md", "whatif.csv"):
        produced = (tmp_path / name).read_text(encoding="utf-8")
        golden = GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(produced, encoding="utf-8", newline="\n")
        assert produced == golden.read_text(encoding="utf-8"), f"{name} differs (UPDATE_GOLDEN=1 to accept)"


def test_the_entries_that_change_with_the_flows_they_touch(to_2025):
    entries = {r["host"]: r for r in to_2025.entries.iter_rows(named=True)}
    scheme = entries["download.microsoft.com"]
    assert (scheme["change"], scheme["before"], scheme["after"], scheme["flows"]) == (
        "scheme changed",
        "http",
        "https",
        7,
    )
    assert "CAS download.microsoft.com:80 http: blocked-required -> unexpected-blocked (5)" in scheme["touched"]
    assert "CAS download.microsoft.com:443 -: unexpected-allowed -> required-allowed (2)" in scheme["touched"]
    removed = entries["test.stats.update.microsoft.com"]
    assert (removed["change"], removed["flows"]) == ("removed", 0)
    added = entries["*.delivery.mp.microsoft.com"]
    assert (added["change"], added["after"], added["flows"]) == ("added", "http, https", 6)
    assert "unexpected-blocked -> blocked-required" in added["touched"]
    required = {(r["entry"], r["change"]): r["outcome"] for r in to_2025.required.iter_rows(named=True)}
    assert required[("http://test.stats.update.microsoft.com", "no longer required")] == "no longer required"
    assert required[("http://*.delivery.mp.microsoft.com", "newly required")] == "would need opening (never seen)"
    assert required[("https://*.delivery.mp.microsoft.com", "newly required")] == "would need opening (seen blocked)"


def test_would_break_fires_the_other_way_round():
    today = run_check([str(ROOT / "data/samples")], str(ROOT / SITE))
    back = whatif(today, load_policy(str(ROOT / SITE)), before=load_policy(str(ROOT / SITE), profile="wsus-2025"))
    broken = back.changes.filter(pl.col("outcome") == "would break")
    assert broken.select("server", "host", "port", "before", "after", "flows").rows() == [
        ("CAS", "download.microsoft.com", 443, "required-allowed", "unexpected-allowed", 2)
    ]
    assert set(back.changes["outcome"]) <= set(OUTCOMES)


def test_verdicts_after_are_those_of_a_check_under_the_other_profile(to_2025):
    """No second judging: a check with the other profile finds the same verdicts."""
    other = run_check([str(ROOT / "data/samples")], str(ROOT / SITE), profile="wsus-2025").findings
    found = {(r["server"], r["host"], r["port"], r["scheme"], r["verdict"]) for r in other.iter_rows(named=True)}
    for r in to_2025.changes.iter_rows(named=True):
        assert (r["server"], r["host"], r["port"], r["scheme"], r["after"]) in found


def test_wsus_web_site_and_wildcard_changes(outdir):
    here = Path.cwd()
    os.chdir(outdir.parent)
    try:
        base = load_policy(SITE)
        site = replace(base.site, wsus_web_site="default", wildcard="apex")
        result = whatif(outdir, load_policy(site))
    finally:
        os.chdir(here)
    settings = result.entries.filter(pl.col("host").str.starts_with("("))
    assert settings.select("change", "before", "after").rows() == [
        ("wildcard mode changed", "subdomains", "apex"),
        ("WSUS web site changed", "custom", "default"),
    ]
    sync = result.changes.filter(pl.col("server") == "PRI1", pl.col("host") == "sup-cas.corp.example.com")
    assert set(sync["outcome"]) == {"would break"}  # 8530/8531 are not the default web site's ports
    newly = result.required.filter(pl.col("change") == "newly required", pl.col("kind") == "hierarchy")
    assert sorted(newly.select("entry", "port").rows()) == [
        ("IBSUP -> PRI1", 80),
        ("IBSUP -> PRI1", 443),
        ("PRI1 -> CAS", 80),
        ("PRI1 -> CAS", 443),
    ]


def test_frames_need_the_policy_they_are_judged_under(outdir):
    flows = pl.scan_parquet(outdir / "flows.parquet")
    with pytest.raises(AnalyzerError, match="give before="):
        whatif(flows, load_policy(str(ROOT / SITE)))
    same = whatif(flows, load_policy(str(ROOT / SITE)), before=load_policy(str(ROOT / SITE)))
    assert same.changes.is_empty() and same.required.is_empty()
    assert "No finding group changes its verdict." in whatif_markdown(same)


def test_markdown_escapes_log_text(to_2025):
    hostile = to_2025.changes.with_columns(pl.lit("[x](http://evil.test)|<b>").alias("host"))
    text = whatif_markdown(replace(to_2025, changes=hostile))
    # A code span shows its text literally (no link, no HTML), and the cell cannot be split.
    assert "`[x](http://evil.test)\\|<b>`" in text
    assert "[x](http://evil.test)|" not in text


def test_notebook_view_escapes_log_text(to_2025):
    hostile = to_2025.changes.with_columns(pl.lit("<script>alert(1)</script>").alias("host"))
    html = replace(to_2025, changes=hostile)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
