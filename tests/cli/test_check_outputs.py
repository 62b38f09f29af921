"""`analyzer check`: rejects.csv (item 4), why it exits 1 (item 26), --help (item 21), baselines of
another policy (item 27)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from analyzer.cli import build_parser, main
from tests.conftest import ROOT

SITE = str(ROOT / "data" / "samples" / "site.toml")
GOOD = "1793610000.000     50 192.0.2.10 TCP_DENIED/403 900 CONNECT fe2.update.microsoft.com:443 - HIER_NONE/- -\n"


def test_check_writes_rejects_csv_formula_safe(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(GOOD + '=HYPERLINK("http://evil.test")\x1b[2J garbage\n' + GOOD, encoding="utf-8")
    assert main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out"), "-q"]) == 1
    with open(tmp_path / "out" / "rejects.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    row = rows[0]
    assert row["source_file"] == str(log) and row["line_no"] == "2" and row["source_format"] == "squid"
    assert row["raw"] == '\'=HYPERLINK("http://evil.test")\\x1b[2J garbage'
    assert row["reason"]


def test_check_writes_an_empty_rejects_csv_with_its_header(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(GOOD, encoding="utf-8")
    main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out"), "-q"])
    assert (tmp_path / "out" / "rejects.csv").read_text().splitlines() == [
        "source_file,line_no,source_format,reason,raw"
    ]


def test_exit_1_says_how_many_findings_are_at_or_above_fail_on(tmp_path, capsys):
    log = tmp_path / "access.log"
    log.write_text(GOOD, encoding="utf-8")
    assert main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out")]) == 1
    assert "1 finding at or above high (--fail-on high): exit 1" in capsys.readouterr().out
    assert main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out"), "-q"]) == 1
    assert capsys.readouterr() == ("", "")  # --quiet: the exit code speaks
    assert main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out"), "--fail-on", "none"]) == 0
    assert "at or above" not in capsys.readouterr().out


def test_check_help_says_tz_defaults_to_the_site_timezone():
    check = build_parser()._subparsers._group_actions[0].choices["check"]
    tz = next(a for a in check._actions if "--tz" in a.option_strings)
    assert "site's timezone" in tz.help and "(default UTC)" not in tz.help


def _baseline(tmp_path, log, **policy) -> Path:
    out = tmp_path / "week1"
    main(["check", str(log), "--site", SITE, "-o", str(out), "-q"])
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    doc["policy"].update(policy)
    (out / "findings.json").write_text(json.dumps(doc), encoding="utf-8")
    return out / "findings.json"


def test_baseline_of_another_profile_or_site_is_warned_about(tmp_path, capsys):
    log = tmp_path / "access.log"
    log.write_text(GOOD, encoding="utf-8")
    args = ["check", str(log), "--site", SITE, "-o", str(tmp_path / "week2"), "--baseline"]
    same = _baseline(tmp_path, log)
    capsys.readouterr()
    main([*args, str(same)])
    assert "warning" not in capsys.readouterr().err
    other = _baseline(tmp_path, log, profile="wsus-2025", version="x", servers=[{"name": "X", "fqdn": "x.test"}])
    capsys.readouterr()
    main([*args, str(other)])
    err = capsys.readouterr().err
    assert err.startswith("analyzer: warning: the baseline ") and err.count("\n") == 1
    assert "profile wsus-2025 x -> cm2007" in err and "the site's servers differ" in err


def test_inputs_count_flows_that_the_verdicts_add_up_to(tmp_path, capsys, monkeypatch):
    """Item 22: DNS answers are not flows; the tables say flows; coverage counts entries."""
    import re
    import sys

    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    out = tmp_path / "out"
    assert main(["check", str(ROOT / "data" / "samples"), "--site", SITE, "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    judged = sum(doc["summary"].values())
    for report in ("report.md", "report.html"):
        text = (out / report).read_text(encoding="utf-8")
        flows = int(re.search(r"lines, ([\d,]+) flows,", text).group(1).replace(",", ""))
        assert flows == judged, report
        assert re.search(r"flows, [\d,]+ DNS answers,", text)
    header = next(line for line in printed.splitlines() if "file" in line and "format" in line)
    assert "flows" in header and "records" not in header
    assert re.search(r"coverage: \d+ of \d+ required entries seen", printed)


def test_machine_outputs_write_times_in_utc_with_a_colon_offset(tmp_path):
    """Item 25: one convention, ISO 8601 in UTC with a colon offset, in every CSV and in JSON."""
    import re
    from datetime import datetime

    log = tmp_path / "access.log"
    log.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    main(["check", str(log), "--site", SITE, "-o", str(out), "-q"])
    main(["parse", str(log), "-o", str(tmp_path / "flows.csv"), "-q"])
    stamp = "2026-11-02T09:00:00.000000+00:00"  # 1793610000 in UTC
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
    for path, columns in ((out / "findings.csv", ("first_seen", "last_seen")), (tmp_path / "flows.csv", ("time",))):
        with open(path, newline="", encoding="utf-8") as fh:
            row = next(csv.DictReader(fh))
        for column in columns:
            assert row[column] == stamp and iso.match(row[column]), (path.name, row[column])
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["findings"][0]["first_seen"] == stamp
    assert datetime.fromisoformat(stamp).utcoffset().total_seconds() == 0
