"""The public API (``import analyzer as az``): its exact surface, docstrings, README listing, and
the behaviour of each name: frames, pandas conversions, figures, reports, evidence lines, and HTML
summaries that escape untrusted log text."""

from __future__ import annotations

import dataclasses
import gzip
import inspect
import re
import subprocess
import sys
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import pandas as pd
import polars as pl
import pytest
from matplotlib.figure import Figure

import analyzer as az
from analyzer import errors, schema, verdicts
from analyzer.read import FileSummary
from analyzer.reports import WRITERS

from .conftest import ROOT, SAMPLES

SITE = str(SAMPLES / "site.toml")

PUBLIC = {
    # reading
    "read_logs",
    "ReadResult",
    "attribute",
    # policy
    "load_site",
    "load_profile",
    "load_policy",
    "Site",
    "Profile",
    "Policy",
    "profile_names",
    "diff_profiles",
    "explain_host",
    "HostExplanation",
    # the check
    "run_check",
    "check_flows",
    "CheckResult",
    "finding_flows",
    "evidence_lines",
    # output
    "plot_timeline",
    "plot_unexpected",
    "plot_coverage",
    "write_reports",
    # data
    "FLOW_SCHEMA",
    "VERDICTS",
    "SEVERITIES",
    # acting on findings
    "remediate",
    "whatif",
    "WhatIf",
    # errors
    "AnalyzerError",
    "InputError",
    "PolicyError",
    "UnknownNameError",
}
CONSTANTS = {"FLOW_SCHEMA", "VERDICTS", "SEVERITIES"}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def result() -> az.CheckResult:
    return az.run_check([str(SAMPLES)], SITE)


class Elements(HTMLParser):
    """Collects the tags of an HTML fragment, to prove that log text added none."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def tags(html: str) -> set[str]:
    parser = Elements()
    parser.feed(html)
    return set(parser.tags)


# --- the surface ---------------------------------------------------------------------------------


def test_all_is_exactly_the_curated_api():
    assert set(az.__all__) == PUBLIC
    assert len(az.__all__) == len(set(az.__all__))
    for name in az.__all__:
        assert hasattr(az, name), name


def test_public_names_are_the_engine_objects():
    assert az.FLOW_SCHEMA is schema.FLOW_SCHEMA
    assert az.VERDICTS is verdicts.VERDICTS
    assert az.SEVERITIES == ("high", "medium", "low", "info")
    assert az.InputError is errors.InputError and issubclass(az.InputError, az.AnalyzerError)
    assert issubclass(az.PolicyError, az.AnalyzerError) and issubclass(az.UnknownNameError, az.AnalyzerError)


@pytest.mark.parametrize("name", sorted(PUBLIC - CONSTANTS))
def test_every_public_function_and_class_has_a_docstring_with_an_example(name):
    doc = inspect.getdoc(getattr(az, name)) or ""
    assert "Example" in doc or ">>>" in doc, f"{name} needs a docstring with an example"


def test_readme_api_reference_lists_every_public_name():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Python API\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md needs a '## Python API' section"
    section = match.group(1)
    missing = [name for name in az.__all__ if f"`{name}" not in section]
    assert not missing, f"not in the README's Python API section: {missing}"
    assert re.search(r"^## Notebooks\n", text, re.M), "README.md needs a '## Notebooks' section"


# --- policy --------------------------------------------------------------------------------------


def test_profile_names_lists_the_builtin_profiles():
    names = az.profile_names()
    assert names == sorted(names)
    assert {"cm2007", "cmcb", "wsus-2017", "wsus-2022", "wsus-2025", "wu-client", "delivery-optimization"} <= set(names)


def test_diff_profiles_is_a_frame_and_takes_names_or_profiles():
    by_name = az.diff_profiles("cm2007", "wsus-2025")
    by_object = az.diff_profiles(az.load_profile("cm2007"), az.load_profile("wsus-2025"))
    assert by_name.equals(by_object)
    assert by_name.columns == ["host", "change", "before", "after"]
    rows = {r["host"]: r for r in by_name.iter_rows(named=True)}
    assert rows["test.stats.update.microsoft.com"]["change"] == "removed"
    assert rows["download.microsoft.com"] == {
        "host": "download.microsoft.com",
        "change": "scheme changed",
        "before": "http",
        "after": "https",
    }
    assert az.diff_profiles("cm2007", "cm2007").is_empty()
    with pytest.raises(az.UnknownNameError, match="did you mean 'cm2007'"):
        az.diff_profiles("cm2070", "wsus-2025")


def test_explain_host_with_a_site_without_one_and_per_wildcard_mode():
    explained = az.explain_host("SWS.Update.Microsoft.com.", SITE)
    assert explained.host == "sws.update.microsoft.com"
    assert explained.profile == "cm2007"
    covering = explained.covering.filter(pl.col("set") == "profile")["entry"].to_list()
    assert covering == ["http://*.update.microsoft.com", "https://*.update.microsoft.com"]
    assert any("required of CAS" in note for note in explained.notes)
    assert explained.entries.height == len(az.load_policy(SITE).all_entries())

    apex = "windowsupdate.com"
    sub = az.explain_host(apex, profile="cm2007").covering.filter(pl.col("set") == "profile")
    assert "http://*.windowsupdate.com" not in sub["entry"].to_list()
    with_apex = az.explain_host(apex, profile="cm2007", wildcard="apex").covering
    assert "http://*.windowsupdate.com" in with_apex["entry"].to_list()
    assert az.explain_host(apex, az.load_policy(SITE), wildcard="apex").wildcard == "apex"
    with pytest.raises(az.UnknownNameError, match="wildcard mode"):
        az.explain_host(apex, wildcard="apexx")


def test_host_explanation_html_escapes_entries_and_notes():
    entries = pl.DataFrame(
        [(True, "allow", "site", HOSTILE, "http", 80, HOSTILE)],
        schema=["covers", "set", "profile", "entry", "scheme", "port", "why"],
        orient="row",
    )
    html = az.HostExplanation(HOSTILE, "p<b>", "subdomains", entries, (HOSTILE,))._repr_html_()
    assert tags(html) <= {"div", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td", "ul", "li"}
    assert "&lt;script&gt;" in html and "<script" not in html and "<img" not in html


# --- the check and its frames --------------------------------------------------------------------


def test_run_check_result_has_frames_and_every_flow_judged(result):
    assert {"flows", "findings", "coverage"} <= {f.name for f in dataclasses.fields(result)}
    assert result.summary["blocked-required"] > 0
    assert sum(result.summary.values()) == result.flow_count == result.flows.select(pl.len()).collect().item()


def test_check_flows_on_the_flow_columns_gives_the_same_verdicts(result):
    flows = result.flows.select(list(az.FLOW_SCHEMA)).collect()
    again = az.check_flows(flows, az.load_policy(SITE))
    key = ["source_file", "line_no"]
    assert again.select(*key, "verdict").sort(key).equals(result.flows.select(*key, "verdict").sort(key).collect())


def test_attribute_and_read_logs_are_the_reading_half_of_the_check():
    read = az.read_logs([str(SAMPLES / "winfirewall"), str(SAMPLES / "dnscsv")])
    assert isinstance(read, az.ReadResult)
    before = read.flows.filter(pl.col("dst_host").is_null()).height
    attributed = az.attribute(read.flows, read.evidence.get("dns"))
    assert attributed.filter(pl.col("dst_host").is_null()).height < before


def test_finding_flows_are_exactly_the_flows_each_finding_counts(result):
    for finding in result.findings.iter_rows(named=True):
        flows = az.finding_flows(result, finding)
        assert flows.height == finding["count"], finding
        assert flows["time"].min() == finding["first_seen"]
        assert set(flows["verdict"].to_list()) == {finding["verdict"]}
    first = result.findings.row(0, named=True)
    assert az.finding_flows(result, first["finding_id"]).equals(az.finding_flows(result, first))
    with pytest.raises(az.UnknownNameError, match="unknown finding"):
        az.finding_flows(result, "0000")


def test_evidence_lines_reads_the_exact_lines_back(result):
    finding = result.findings.filter(pl.col("verdict") == "blocked-required").row(0, named=True)
    lines = az.evidence_lines(finding["evidence"])
    assert lines.columns == ["file", "line", "text"]
    assert lines.height == len(finding["evidence"])
    for row in lines.iter_rows(named=True):
        text = (ROOT / row["file"]).read_text(encoding="utf-8").splitlines() if not row["file"].startswith("/") else []
        if text:
            assert row["text"] == text[row["line"] - 1]
    # a finding row, a findings frame and flows are accepted too
    assert az.evidence_lines(finding).equals(lines)
    assert az.evidence_lines(az.finding_flows(result, finding)).height >= lines.height
    assert az.evidence_lines(result.findings.head(3)).height == sum(
        len(e) for e in result.findings.head(3)["evidence"].to_list()
    )


def test_evidence_lines_compressed_files_and_errors(tmp_path):
    plain, packed = tmp_path / "a.log", tmp_path / "b.log.gz"
    plain.write_text("one\ntwo\n" + HOSTILE + "\n", encoding="utf-8")
    with gzip.open(packed, "wt", encoding="utf-8") as fh:
        fh.write("first\nsecond\n")
    got = az.evidence_lines([{"file": str(packed), "line": 2}, {"file": str(plain), "line": 3}])
    assert got.rows() == [(str(plain), 3, HOSTILE), (str(packed), 2, "second")]
    assert az.evidence_lines([]).is_empty()
    with pytest.raises(az.InputError, match=r"a\.log:9: line not in the file"):
        az.evidence_lines([{"file": str(plain), "line": 9}])
    with pytest.raises(az.InputError, match="no such file"):
        az.evidence_lines([{"file": str(tmp_path / "gone.log"), "line": 1}])
    with pytest.raises(az.InputError, match="evidence items"):
        az.evidence_lines([{"path": "x"}])


def test_check_result_to_pandas(result):
    frames = result.to_pandas()
    assert list(frames) == ["flows", "findings", "coverage", "files", "rejects"]
    assert all(isinstance(f, pd.DataFrame) for f in frames.values())
    assert len(frames["flows"]) == result.flow_count
    assert len(frames["findings"]) == result.findings.height
    assert len(frames["files"]) == len(result.read.files)
    findings = frames["findings"]
    assert str(findings["first_seen"].dtype) == "datetime64[us, UTC]"
    assert str(findings["port"].dtype) == "Int32"  # nullable: ports stay integers
    assert list(findings["evidence"].iloc[0][0]) == ["file", "line"]
    assert isinstance(frames["flows"]["action"].dtype, pd.CategoricalDtype)


def test_read_result_to_pandas_includes_evidence_kinds():
    read = az.read_logs([str(SAMPLES / "squid"), str(SAMPLES / "dnscsv")])
    frames = read.to_pandas()
    assert list(frames) == ["flows", "rejects", "files", "dns"]
    assert len(frames["flows"]) == read.flows.height
    assert len(frames["dns"]) == read.evidence["dns"].height
    assert len(frames["rejects"]) == read.rejects.height > 0


def test_check_result_html_summarizes(result):
    html = result._repr_html_()
    assert "cm2007" in html and "Europe/Berlin" in html
    for verdict in az.VERDICTS:
        assert f"<td>{verdict}</td>" in html
    assert "blocked-required" in html and "ctldl.windowsupdate.com" in html
    high = result.findings.filter(pl.col("severity") == "high").height
    assert f"<td>{high}</td>" in html
    assert html.count("<tr><td>high</td>") == high  # top findings, most severe first
    assert "data/samples/squid/access.log" in html


def test_check_result_html_escapes_untrusted_log_text(result):
    findings = result.findings.with_columns(
        pl.lit(HOSTILE).alias("host"), pl.lit(HOSTILE).alias("rule"), pl.lit(HOSTILE).alias("server")
    )
    read = dataclasses.replace(result.read, files=[FileSummary(file=HOSTILE, format="squid", lines=1, records=1)])
    hostile = dataclasses.replace(result, findings=findings, read=read)
    html = hostile._repr_html_()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert tags(html) <= {"div", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td"}
    read_html = read._repr_html_()
    assert "<script" not in read_html and "&lt;img src=x" in read_html


def test_read_result_html_lists_files():
    read = az.read_logs([str(SAMPLES / "squid")])
    html = read._repr_html_()
    assert f"{len(read.files)} files" in html
    for f in read.files:
        assert f"<td>{f.file}</td>" in html


# --- figures and reports -------------------------------------------------------------------------


def _bar_total(fig: Figure) -> float:
    return sum(p.get_height() for p in fig.axes[0].patches)


def test_plot_helpers_return_closed_figures_of_the_result(result):
    before = set(plt.get_fignums())
    timeline = az.plot_timeline(result)
    assert isinstance(timeline, Figure)
    required = sum(result.summary[v] for v in ("required-allowed", "blocked-required", "required-failed"))
    assert _bar_total(timeline) == required
    assert "Europe/Berlin" in timeline.axes[0].get_title(loc="left")
    # a subset of flows: one destination's timeline, in a zone of choice
    ctldl = result.flows.filter(pl.col("dst_host") == "ctldl.windowsupdate.com").collect()
    one = az.plot_timeline(ctldl, "UTC")
    assert _bar_total(one) == ctldl.filter(pl.col("verdict").is_in(["required-allowed", "blocked-required"])).height
    assert "UTC" in one.axes[0].get_title(loc="left")
    unexpected = az.plot_unexpected(result)
    assert unexpected.axes[0].get_yticklabels()
    coverage = az.plot_coverage(result)
    assert [t.get_text() for t in coverage.axes[0].get_yticklabels()] == ["PRI1", "IBSUP", "CAS"]
    assert az.plot_coverage(result.coverage).axes[0].get_title(loc="left") == coverage.axes[0].get_title(loc="left")
    assert set(plt.get_fignums()) == before  # closed: Jupyter shows each once, nothing leaks


def test_write_reports_writes_the_chosen_formats(result, tmp_path):
    written = az.write_reports(result, tmp_path / "some", formats=["findings.json", "report.md"])
    assert [p.name for p in written] == ["findings.json", "report.md"]
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == ["findings.json", "report.md"]
    assert [p.name for p in az.write_reports(result, tmp_path / "one", formats="coverage.csv")] == ["coverage.csv"]
    everything = az.write_reports(result, tmp_path / "all")
    assert len(everything) == len(WRITERS)
    assert (tmp_path / "all" / "report.html").is_file() and (tmp_path / "all" / "charts" / "timeline.png").is_file()
    with pytest.raises(az.UnknownNameError, match=r"did you mean 'report\.html'"):
        az.write_reports(result, tmp_path / "bad", formats=["report.htm"])
    assert not (tmp_path / "bad").exists()


def test_errors_are_one_line_and_say_where():
    with pytest.raises(az.PolicyError, match=r"site\.toml"):
        az.load_site(str(ROOT / "no-such-dir" / "site.toml"))
    with pytest.raises(az.UnknownNameError, match="did you mean"):
        az.load_profile("wsus-2052")
    with pytest.raises(az.InputError, match="no such file"):
        az.read_logs([str(ROOT / "no-such.log")])


def test_import_analyzer_stays_light():
    """matplotlib, pandas and the report writers load when first used, so every command starts quickly."""
    heavy = ("matplotlib", "pandas", "analyzer.reports")
    code = f"import sys, analyzer; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
