"""`analyzer check` with nothing to judge: exit 3 and one line saying why, unless --allow-empty (item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.cli.check import EXIT_NOTHING
from tests.conftest import ROOT

SITE = str(ROOT / "data" / "samples" / "site.toml")
SQUID = "{t}.000     50 {src} TCP_TUNNEL/200 900 CONNECT fe2.update.microsoft.com:443 - HIER_DIRECT/203.0.113.42 -\n"


def _case(tmp_path: Path, case: str) -> list[str]:
    if case == "empty folder":
        (tmp_path / "logs").mkdir()
        return [str(tmp_path / "logs")]
    if case == "empty file":
        (tmp_path / "access.log").write_text("", encoding="utf-8")
        return [str(tmp_path / "access.log")]
    if case == "folder of non-logs":
        (tmp_path / "logs").mkdir()
        (tmp_path / "logs" / "readme.txt").write_text("hello world\nnothing here\n", encoding="utf-8")
        return [str(tmp_path / "logs")]
    if case == "no flows of the servers":
        (tmp_path / "access.log").write_text(SQUID.format(t=1793610000, src="192.0.2.99"), encoding="utf-8")
        return [str(tmp_path / "access.log")]
    if case == "every flow outside the window":
        (tmp_path / "access.log").write_text(SQUID.format(t=1700000000, src="192.0.2.10") * 3, encoding="utf-8")
        return [str(tmp_path / "access.log"), "--last", "7d"]
    raise AssertionError(case)


WHY = {
    "empty folder": "no log files found",
    "empty file": "no lines in 1 file",
    "folder of non-logs": "no file recognised as a log (1 file)",
    "no flows of the servers": "no flows from or to the site's servers among 1 flow (1 file, 1 line)",
    "every flow outside the window": "all 3 flows outside ",
}


@pytest.mark.parametrize("case", list(WHY))
def test_nothing_to_judge_exits_4_with_one_line(tmp_path, capsys, case):
    args = _case(tmp_path, case)
    code = main(["check", *args, "--site", SITE, "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_NOTHING == 3
    assert err.count("\n") == 1 and err.startswith(f"analyzer: nothing to judge in {args[0]}: "), err
    assert WHY[case] in err
    assert (tmp_path / "out" / "findings.json").is_file()  # the outputs still say what was read


@pytest.mark.parametrize("case", list(WHY))
def test_allow_empty_passes_with_a_warning(tmp_path, capsys, case):
    args = _case(tmp_path, case)
    code = main(["check", *args, "--site", SITE, "-o", str(tmp_path / "out"), "-q", "--allow-empty"])
    err = capsys.readouterr().err
    assert code == 0
    assert err.startswith("analyzer: warning: nothing to judge") and WHY[case] in err and err.count("\n") == 1


def test_summary_says_how_many_flows_fell_outside_the_window_when_piped(tmp_path, capsys):
    log = tmp_path / "access.log"
    log.write_text(SQUID.format(t=1700000000, src="192.0.2.10") * 2 + SQUID.format(t=1793610000, src="192.0.2.10"))
    code = main(["check", str(log), "--site", SITE, "-o", str(tmp_path / "out"), "--since", "2026-01-01"])
    assert code == 0
    assert "2 flows outside 2025-12-31 23:00 UTC to the last flow not judged" in capsys.readouterr().out
