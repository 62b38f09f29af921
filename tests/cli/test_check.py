"""`analyzer check`: outputs, summary table, exit codes 0/1/2 with one-line errors."""

from __future__ import annotations

import json

import pytest

from analyzer.cli import main
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")
LINE = "1793610000.000     50 {src} {code} 900 {req} - HIER_DIRECT/203.0.113.41 -\n"


def _log(tmp_path, *rows) -> str:
    path = tmp_path / "access.log"
    path.write_text("".join(LINE.format(src=s, code=c, req=r) for s, c, r in rows), encoding="utf-8")
    return str(path)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("analyzer: error: ")
    return err


def test_check_samples_writes_every_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    out = tmp_path / "out"
    code = main(["check", str(SAMPLES), "--site", SITE, "-o", str(out)])
    assert code == 1  # the samples hold a blocked required flow (high)
    for name in ("findings.json", "findings.csv", "coverage.csv", "flows.parquet"):
        assert (out / name).is_file(), name
    printed = capsys.readouterr().out
    assert "blocked-required" in printed and "out-of-scope" in printed  # the summary table
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert all(doc["summary"][v] > 0 for v in doc["verdicts"])  # every verdict kind in the samples


@pytest.mark.parametrize(
    ("rows", "fail_on", "code"),
    [
        ([("192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.update.microsoft.com:443")], "high", 0),
        ([("192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.example.net:443")], "high", 0),
        ([("192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.example.net:443")], "medium", 1),
        ([("192.0.2.10", "TCP_DENIED/403", "CONNECT www.example.net:443")], "low", 0),
        ([("192.0.2.10", "TCP_DENIED/403", "CONNECT www.example.net:443")], "info", 1),
        ([("192.0.2.10", "TCP_DENIED/403", "CONNECT www.update.microsoft.com:443")], "high", 1),
        ([("192.0.2.10", "TCP_DENIED/403", "CONNECT www.update.microsoft.com:443")], "none", 0),
    ],
)
def test_exit_codes_follow_fail_on(tmp_path, rows, fail_on, code):
    log = _log(tmp_path, *rows)
    assert main(["check", log, "--site", SITE, "-o", str(tmp_path / "o"), "--fail-on", fail_on, "-q"]) == code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "missing.toml"], "cannot read site file"),
        (["--site", SITE, "--profile", "cm2070"], "did you mean 'cm2007'"),
        (["--site", SITE, "--since", "yesterday"], "--since"),
        (["--site", SITE, "--tz", "Mars/Base"], "unknown time zone"),
        (["--site", SITE, "--format", "squidd"], "did you mean 'squid'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    log = _log(tmp_path, ("192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.update.microsoft.com:443"))
    assert main(["check", log, *args, "-o", str(tmp_path / "o"), "-q"]) == 2
    assert message in _one_line_error(capsys)


def test_bad_site_file_names_the_key(tmp_path, capsys):
    site = tmp_path / "site.toml"
    site.write_text(
        '[[server]]\nname = "A"\nfqdn = "a.example.com"\naddresses = ["192.0.2.1"]\nupstream = "B"\n', encoding="utf-8"
    )
    log = _log(tmp_path, ("192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.update.microsoft.com:443"))
    assert main(["check", log, "--site", str(site), "-o", str(tmp_path / "o")]) == 2
    err = _one_line_error(capsys)
    assert str(site) in err and "server[0].upstream" in err and "unknown upstream 'B'" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "x.log", "-o", "o"])  # --site missing
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["check", "x.log", "--site", SITE, "-o", "o", "--fail-on", "critical"])
    assert info.value.code == 2
