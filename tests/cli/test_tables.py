"""Tables never cut a value: as wide as needed when piped, one block per row on a narrow terminal (item 24)."""

from __future__ import annotations

import sys

import pytest

from analyzer.cli import main
from analyzer.policy import load_profile
from tests.conftest import SAMPLES


def _entries() -> list[str]:
    return [e.text for e in load_profile("wsus-2025").entries]


@pytest.mark.parametrize("columns", ["40", "80"])
def test_piped_tables_are_as_wide_as_their_values(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["profiles", "show", "wsus-2025"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    for text in _entries():
        assert any(f"│ {text} " in row for row in rows), text  # whole, on one row
    assert load_profile("wsus-2025").url in out.splitlines()  # the caption, a URL, not folded
    assert "…" not in out


def test_a_narrow_terminal_gets_one_block_per_row(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["profiles", "show", "wsus-2025"]) == 0
    out = capsys.readouterr().out
    for text in _entries():
        assert f"entry: {text}" in out, text
    assert "…" not in out and "│" not in out


def test_a_wide_terminal_gets_the_table(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["profiles", "show", "wsus-2025"]) == 0
    out = capsys.readouterr().out
    assert "┃" in out and "entry" in out and "https://learn.microsoft.com/" in out


def test_parse_file_names_are_not_folded_when_piped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["parse", str(SAMPLES), "-o", str(tmp_path / "f.parquet")]) == 0
    out = capsys.readouterr().out
    assert f"│ {SAMPLES / 'paloalto' / 'pa3220-export-traffic.csv'} " in out
