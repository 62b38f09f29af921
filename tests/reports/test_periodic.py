"""Periodic runs through the command line: --baseline, --last/--until, exit codes, quiet output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.conftest import ROOT

SITE = str(ROOT / "data" / "samples" / "site.toml")
DAY = 86400
T0 = 1793754000  # 2026-11-04 01:00 UTC


def squid(t: float, code: str, method: str, url: str, peer: str = "HIER_DIRECT/203.0.113.50") -> str:
    return f"{t:.3f}    150 192.0.2.10 {code} 1234 {method} {url} - {peer} text/plain"


WEEK1 = [
    squid(T0, "TCP_DENIED/403", "GET", "http://download.windowsupdate.com/a.cab", "HIER_NONE/-"),
    squid(T0 + 60, "TCP_MISS/200", "GET", "http://evil.test/x"),
]
WEEK2 = [
    squid(T0 + 7 * DAY, "TCP_MISS/200", "GET", "http://download.windowsupdate.com/a.cab"),
    squid(T0 + 7 * DAY + 60, "TCP_MISS/200", "GET", "http://evil.test/x"),
    squid(T0 + 7 * DAY + 120, "TCP_TUNNEL/200", "CONNECT", "www.example.net:443"),
]


def log(tmp_path: Path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def findings(outdir: Path) -> dict[str, tuple[str, str]]:
    doc = json.loads((outdir / "findings.json").read_text(encoding="utf-8"))
    return {
        (f["host"] or f["address"]): (f["verdict"], f.get("status")) for f in doc["findings"] if f["severity"] != "none"
    }


@pytest.fixture
def weeks(tmp_path):
    week1 = log(tmp_path, "week1.log", WEEK1)
    week2 = log(tmp_path, "week2.log", WEEK2)
    first = tmp_path / "run1"
    assert main(["check", week1, "--site", SITE, "-o", str(first), "-q"]) == 1  # blocked-required is high
    return tmp_path, week2, first


def test_baseline_marks_new_persisting_resolved_everywhere(weeks, capsys):
    tmp_path, week2, first = weeks
    second = tmp_path / "run2"
    code = main(["check", week2, "--site", SITE, "-o", str(second), "--baseline", str(first / "findings.json")])
    assert code == 0  # the high finding is resolved: only this run's findings count
    assert findings(second) == {
        "download.windowsupdate.com": ("blocked-required", "resolved"),
        "evil.test": ("unexpected-allowed", "persisting"),
        "www.example.net": ("unexpected-allowed", "new"),
    }
    assert "since the baseline: 1 new, 1 resolved, 1 persisting" in capsys.readouterr().out
    csv_text = (second / "findings.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].endswith(",status") and ",resolved" in csv_text and ",new" in csv_text
    md = (second / "report.md").read_text(encoding="utf-8")
    assert "Since the baseline: **1** new, **1** resolved" in md and "## Resolved since the baseline" in md
    page = (second / "report.html").read_text(encoding="utf-8")
    assert '<section id="resolved">' in page and "st-resolved" in page
    # A stricter threshold still fails on the current medium findings.
    again = ["check", week2, "--site", SITE, "-o", str(tmp_path / "run3"), "-q", "--fail-on", "medium"]
    assert main([*again, "--baseline", str(first / "findings.json")]) == 1


def test_baseline_of_a_baseline_does_not_carry_resolved(weeks):
    tmp_path, week2, first = weeks
    second, third = tmp_path / "run2", tmp_path / "run3"
    assert (
        main(["check", week2, "--site", SITE, "-o", str(second), "-q", "--baseline", str(first / "findings.json")]) == 0
    )
    assert (
        main(["check", week2, "--site", SITE, "-o", str(third), "-q", "--baseline", str(second / "findings.json")]) == 0
    )
    assert {s for _v, s in findings(third).values()} == {"persisting"}


def test_last_and_until_limit_the_window(tmp_path):
    both = log(tmp_path, "both.log", WEEK1 + WEEK2)
    out = tmp_path / "out"
    args = ["check", both, "--site", SITE, "-o", str(out), "-q", "--until", "2026-11-12", "--last", "2d"]
    assert main(args) == 0  # the week-1 block is outside the window
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["window"]["outside"] == 2
    assert "download.windowsupdate.com" not in {
        f["host"] for f in doc["findings"] if f["verdict"] == "blocked-required"
    }
    assert "2 flows outside it not judged" in (out / "report.md").read_text(encoding="utf-8")


def test_quiet_prints_nothing_and_piped_output_is_the_summary_alone(tmp_path, capsys):
    week1 = log(tmp_path, "week1.log", WEEK1)
    assert main(["check", week1, "--site", SITE, "-o", str(tmp_path / "q"), "--quiet"]) == 1
    assert capsys.readouterr() == ("", "")
    assert main(["check", week1, "--site", SITE, "-o", str(tmp_path / "p")]) == 1
    out, err = capsys.readouterr()
    assert "Verdicts" in out and "blocked-required" in out
    assert "Inputs" not in out and "written:" not in out and err == ""  # no progress bar either


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "is not JSON"), ('{"findings": [{"verdict": "x"}]}', "has no 'finding_id'")],
)
def test_bad_baseline_is_a_one_line_error(tmp_path, capsys, content, message):
    week1 = log(tmp_path, "week1.log", WEEK1)
    bad = tmp_path / "findings.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["check", week1, "--site", SITE, "-o", str(tmp_path / "o"), "--baseline", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(bad) in err
    assert not (tmp_path / "o").exists()  # failed before any work


def test_bad_last_is_a_one_line_error(tmp_path, capsys):
    week1 = log(tmp_path, "week1.log", WEEK1)
    assert main(["check", week1, "--site", SITE, "-o", str(tmp_path / "o"), "--last", "7y"]) == 2
    assert "--last: cannot read '7y'" in capsys.readouterr().err
