"""`analyzer profiles` (list, show, diff) and `analyzer policy explain`."""

from __future__ import annotations

import pytest

from analyzer.cli import main
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")


def test_list(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in (
        "cm2007 (default)",
        "cmcb",
        "wsus-2017",
        "wsus-2022",
        "wsus-2025",
        "wu-client",
        "delivery-optimization",
    ):
        assert name in out


def test_show(capsys):
    assert main(["profiles", "show", "wsus-2025"]) == 0
    out = capsys.readouterr().out
    assert "https://download.microsoft.com" in out and "wustat" not in out
    assert main(["profiles", "show", "delivery-optimization"]) == 0
    out = capsys.readouterr().out
    assert "kv*.prod.do.dsp.mp.microsoft.com" in out and "tcp/7680" in out


def test_diff(capsys):
    assert main(["profiles", "diff", "cmcb", "wsus-2017"]) == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "download.microsoft.com scheme changed http https" in lines
    assert "wustat.windows.com added - http" in lines
    assert main(["profiles", "diff", "wsus-2025", "wsus-2025"]) == 0
    assert "no differences" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["profiles", "show", "cm2070"], "did you mean 'cm2007'"),
        (["profiles", "diff", "cm2007"], "usage: analyzer profiles diff A B"),
        (["profiles", "show", "nothere.toml"], "cannot read profile file"),
    ],
)
def test_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_policy_explain(capsys):
    assert main(["policy", "explain", "evilupdate.microsoft.com"]) == 0
    out = capsys.readouterr().out
    assert "not on a label boundary" in out and "unexpected" in out
    assert main(["policy", "explain", "fe2.update.microsoft.com", "--site", SITE]) == 0
    out = capsys.readouterr().out
    assert "https://*.update.microsoft.com" in out and "required of CAS" in out
    assert main(["policy", "explain", "update.microsoft.com", "--wildcard", "apex"]) == 0
    assert "wildcard mode 'apex'" in capsys.readouterr().out
    assert main(["policy", "explain", "x.test", "--profile", "nope"]) == 2
