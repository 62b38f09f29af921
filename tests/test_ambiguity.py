"""Ambiguous attribution (issue 13 item 7): an address that stood for names with different
verdicts is said to be ambiguous, in findings.json, findings.csv and both reports."""

from __future__ import annotations

import csv
import json

import polars as pl

from analyzer.cli import main
from analyzer.pipeline.check import run_check
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")


def test_candidates_with_different_verdicts_make_the_finding_ambiguous_at_its_worst_case():
    result = run_check([str(SAMPLES)], SITE)
    f = result.findings
    # 203.0.113.50 answered for www.update.microsoft.com (DNS) and download.windowsupdate.com
    # (the proxy's next hop); on 443 the first is required, the second is listed for http only.
    (row,) = f.filter((pl.col("address") == "203.0.113.50") & (pl.col("port") == 443)).to_dicts()
    assert row["host"] == "www.update.microsoft.com" and row["verdict"] == "required-allowed"
    assert row["ambiguous"] is True and row["evidence_source"] == "dns"
    assert row["candidates"] == (
        "www.update.microsoft.com (required-allowed); download.windowsupdate.com (unexpected-allowed)"
    )
    assert row["severity"] == "medium"  # the worst plausible case, not the chosen name's "none"
    assert row["reason"].startswith("ambiguous attribution")
    # 203.0.113.90 stood for two names too, but both get the same verdict: not ambiguous.
    (shared,) = f.filter(pl.col("address") == "203.0.113.90").to_dicts()
    assert shared["ambiguous"] is False and shared["candidates"] is None and shared["severity"] == "info"
    # The flows carry it too.
    flows = result.flows.filter(pl.col("attribution") == "ambiguous").collect()
    assert set(flows["dst_ip"]) == {"203.0.113.50", "203.0.113.51"}
    assert set(flows["worst_severity"]) == {"medium"}


def test_ambiguity_reaches_every_output(tmp_path):
    out = tmp_path / "out"
    assert main(["check", str(SAMPLES), "--site", SITE, "-o", str(out), "-q"]) == 1
    document = json.loads((out / "findings.json").read_text())
    ambiguous = [f for f in document["findings"] if f["ambiguous"]]
    assert {f["host"] for f in ambiguous} == {"www.update.microsoft.com", "fe2.update.microsoft.com"}
    assert all(f["evidence_source"] == "dns" and "(unexpected-allowed)" in f["candidates"] for f in ambiguous)
    with open(out / "findings.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"evidence_source", "ambiguous", "candidates"} <= set(rows[0])
    assert sum(r["ambiguous"] == "true" for r in rows) == 2
    for report in ("report.md", "report.html"):
        text = (out / report).read_text().replace("<wbr>", "").replace("\\", "")
        assert "Ambiguous attribution" in text
        assert "download.windowsupdate.com (unexpected-allowed)" in text
        assert "named by dns" in text
