"""`analyzer remediate` and `analyzer whatif`: from a check's OUTDIR, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("check") / "out"
    assert main(["check", str(SAMPLES), "--site", SITE, "-o", str(out), "-q"]) == 1
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("analyzer: error: ")
    return err


def test_check_writes_the_remediation_folder(outdir):
    folder = outdir / "remediation"
    assert (folder / "README.md").is_file() and (folder / "squid" / "fixes.conf").is_file()
    assert (folder / "paloalto-0123456789AB" / "policy.xml").is_file()


def test_remediate_prints_each_devices_rules(outdir, capsys):
    assert main(["remediate", str(outdir), "--device", "squid"]) == 0
    out = capsys.readouterr().out
    assert "==> squid/fixes.conf <==" in out and "==> squid/policy.conf <==" in out
    assert "http_access allow wsus_src_CAS wsus_http_80_dom wsus_port_80 !wsus_connect" in out
    assert "New-NetFirewallRule" not in out and "set rulebase" not in out
    assert out.isascii()


def test_remediate_writes_files(outdir, tmp_path, capsys):
    assert main(["remediate", str(outdir), "--device", "winfirewall", "--server", "PRI1", "-o", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "winfirewall-PRI1").iterdir()) == ["policy.ps1"]
    assert "written: 2 files" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["remediate", "/nonexistent/out"], "not a folder"),
        (["remediate", str(SAMPLES)], "no findings.json here"),
        (["whatif", "SAMPLE_OUT"], "nothing to change"),
        (["whatif", str(SAMPLES / "squid")], "give --site SITE.toml with log paths"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(outdir, capsys, argv, message):
    argv = [str(outdir) if a == "SAMPLE_OUT" else a for a in argv]
    assert main(argv) == 2
    assert message in _one_line_error(capsys)


def test_remediate_with_an_unknown_server(outdir, capsys):
    assert main(["remediate", str(outdir), "--server", "NOPE"]) == 2
    assert "unknown server 'NOPE'" in _one_line_error(capsys)


def test_whatif_from_outdir_writes_its_files_there(outdir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["whatif", str(outdir), "--profile", "wsus-2025"]) == 0
    out = capsys.readouterr().out
    assert "would need opening" in out and "test.stats.update.microsoft.com" in out
    doc = json.loads((outdir / "whatif.json").read_text(encoding="utf-8"))
    assert doc["before"]["profile"] == "cm2007" and doc["after"]["profile"] == "wsus-2025"
    assert {e["host"] for e in doc["entries"]} >= {"download.microsoft.com", "*.delivery.mp.microsoft.com"}
    assert (outdir / "whatif.md").read_text(encoding="utf-8").startswith("## What if: `cm2007` → `wsus-2025`")


def test_whatif_from_log_paths(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code = main(["whatif", str(SAMPLES), "--site", SITE, "--wsus-web-site", "default", "-o", str(tmp_path)])
    assert code == 0
    assert "would break" in capsys.readouterr().out  # the hierarchy on 8530/8531 is not the default site's
    assert (tmp_path / "whatif.csv").is_file()


def test_remediate_says_when_no_device_logged(tmp_path, capsys):
    dns = tmp_path / "dns.csv"
    dns.write_text("time,client,query,type,answer,ttl\n2026-11-03T08:58:12Z,192.0.2.10,a.test,A,203.0.113.9,60\n")
    out = tmp_path / "out"
    # Nothing to judge (DNS evidence only): --allow-empty lets the check pass and write its outputs.
    assert main(["check", str(dns), "--site", SITE, "-o", str(out), "-q", "--allow-empty"]) == 0
    assert main(["remediate", str(out)]) == 0
    assert "no device logged a decision" in capsys.readouterr().out
    assert main(["remediate", str(out), "--device", "paloalto"]) == 0
    assert "==> paloalto/policy.set <==" in capsys.readouterr().out
