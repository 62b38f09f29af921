"""Evidence gaps per file (lost firewall events, damaged compressed files, replaced bytes) in the
parse and check output, findings.json and the reports (items 3 and 5)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")
SQUID = (SAMPLES / "squid" / "access.log").read_bytes()


@pytest.fixture
def logs(tmp_path) -> Path:
    """A good access.log, a truncated access.log.1.gz, the pfirewall sample with lost events, and a
    log with undecodable bytes."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "access.log").write_bytes(SQUID)
    packed = gzip.compress(SQUID * 50)
    (folder / "access.log.1.gz").write_bytes(packed[: len(packed) // 2])
    (folder / "pfirewall.log").write_bytes((SAMPLES / "winfirewall" / "pfirewall.log").read_bytes())
    first = SQUID.split(b"\n")[0]
    (folder / "proxy.log").write_bytes(first.replace(b"- HIER", b"us\xe9r\xff HIER") + b"\n")
    return folder


def _cut_line(folder: Path) -> int:
    """How many lines (the last one cut) zlib recovers from the truncated file."""
    unzip = zlib.decompressobj(wbits=31)
    got = unzip.decompress((folder / "access.log.1.gz").read_bytes()) + unzip.flush()
    return got.count(b"\n") + (not got.endswith(b"\n"))


def test_check_goes_on_past_a_truncated_file_and_shows_every_gap(logs, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["check", str(logs), "--site", SITE, "-o", str(out), "--fail-on", "none"])
    assert code == 0  # not 2: the other files are judged
    printed = capsys.readouterr().out
    n = _cut_line(logs)
    truncated = f"truncated (the compressed data ends before its end marker) after line {n:,}"
    assert f"evidence gap: {logs / 'access.log.1.gz'}: {truncated}" in printed
    assert f"evidence gap: {logs / 'pfirewall.log'}: 12 firewall events lost (INFO-EVENTS-LOST)" in printed
    assert f"evidence gap: {logs / 'proxy.log'}: 2 undecodable bytes replaced" in printed

    inputs = {Path(f["file"]).name: f for f in json.loads((out / "findings.json").read_text())["inputs"]}
    assert inputs["access.log.1.gz"]["damage"] == truncated and inputs["access.log.1.gz"]["lines"] == n
    assert inputs["access.log.1.gz"]["evidence_gaps"] == [truncated]
    assert inputs["pfirewall.log"]["lost_events"] == 12
    assert inputs["proxy.log"]["decode_errors"] == 2
    assert inputs["access.log"]["evidence_gaps"] == [] and inputs["access.log"]["damage"] is None
    for report in ("report.md", "report.html"):
        text = (out / report).read_text(encoding="utf-8")
        assert "Evidence gaps" in text and "12 firewall events lost" in text and "undecodable bytes replaced" in text
        assert f"after line {n:,}" in text


def test_parse_shows_gaps_in_its_table(logs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["parse", str(logs), "-o", str(tmp_path / "flows.parquet")]) == 0
    printed = capsys.readouterr().out
    assert "evidence gaps" in printed and "12 firewall events lost" in printed and "truncated" in printed


def test_reading_a_folder_with_no_gaps_adds_no_column(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["parse", str(SAMPLES / "squid" / "access.log"), "-o", str(tmp_path / "f.parquet")]) == 0
    assert "evidence gaps" not in capsys.readouterr().out
