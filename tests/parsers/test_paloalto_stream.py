"""PAN-OS files read whole by the streaming engine give exactly what the chunked path gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analyzer.parsers.base import ParseContext, Resume
from analyzer.parsers.paloalto import stream as paloalto_stream
from analyzer.pipeline.read import read_logs
from analyzer.sources import SourceFile, is_plain
from tests.conftest import SAMPLES
from tests.parsers.test_paloalto import TRAFFIC_81, URL_81, payload

HEADER = "<14>Nov 16 09:00:03 PA-3220 "
N115 = {"c102": "2026-11-16T09:00:03.750+01:00", "c109": "able-to-transfer-file,pervasive-use"}


def _read(path: Path, streaming: bool, monkeypatch, batch_rows: int = 7) -> tuple:
    with monkeypatch.context() as m:
        m.setattr(paloalto_stream, "MIN_BYTES", 0 if streaming else 1 << 62)
        m.setattr(paloalto_stream, "BATCH_ROWS", batch_rows)  # many batches, even for small files
        result = read_logs([str(path)], format="paloalto")
    return result


def assert_same(path: Path, monkeypatch, batch_rows: int = 7) -> None:
    chunked = _read(path, False, monkeypatch)
    streamed = _read(path, True, monkeypatch, batch_rows)
    assert streamed.flows.equals(chunked.flows)
    assert streamed.rejects.sort("line_no").equals(chunked.rejects.sort("line_no"))
    assert streamed.files_frame.equals(chunked.files_frame)
    assert streamed.files[0].notes == chunked.files[0].notes


def _lines() -> list[str]:
    traffic = [HEADER + payload(TRAFFIC_81, 115, c22=str(i), **N115) for i in range(40)]
    lines = [*traffic[:10], HEADER + payload(URL_81, 121), ""]
    lines += [
        HEADER + payload(TRAFFIC_81, c7="not-an-ip"),  # a reject of the CSV pass
        "1,2026/11/16 09:09:00,0123456789AB,SYSTEM,general,0,2026/11/16 09:09:00,,general,,0,0,general,info",
        HEADER
        + "1,2026/11/16 09:09:01,0123456789AB,CONFIG,0,0,2026/11/16 09:09:01,192.0.2.5,,set,admin,,"
        + 'Succeeded,"deviceconfig system, ntp",1,0x0',
        HEADER + payload(URL_81, 121, c4="vulnerability", c31="", c32="(30001)"),  # another THREAT subtype
        '<14>1 2026-11-16T09:00:03Z pa,3220 - - [meta a="1,2"] ' + payload(TRAFFIC_81),  # commas in the header
        HEADER + payload(TRAFFIC_81, 115, **N115).replace('"', '\\"'),  # a relay's escaped quotes
        "<14>Nov 16 09:00:03 PA-3220 CEF:0|Palo Alto Networks|PAN-OS|10.2|end|TRAFFIC|1|rt=...",
        HEADER + payload(TRAFFIC_81, c1="yesterday"),  # no receive time where the payload begins
        HEADER + payload(TRAFFIC_81, c0="x1"),  # the header does not end in the payload's number
        *traffic[10:30],
        "   ",
        *traffic[30:],
        "garbage",
        "",
        "",
    ]
    return lines


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_every_kind_of_line_gives_the_same_result(tmp_path, monkeypatch, ending):
    path = tmp_path / "pan.log"
    path.write_bytes(ending.join(_lines()).encode())
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 0)
    parts = _parse_file(path)
    assert parts is not None  # read by the streaming path, not handed back
    assert_same(path, monkeypatch)


def test_samples_and_real_logs_give_the_same_result(real_logs, monkeypatch):
    files = sorted((SAMPLES / "paloalto").glob("*.log")) + [
        p for p in sorted((real_logs / "panos").iterdir()) if not p.name.endswith((".json", ".assert"))
    ]
    assert len(files) >= 5
    for path in files:
        assert_same(path, monkeypatch)


def test_a_quote_left_open_sends_the_file_to_the_chunked_path(tmp_path, monkeypatch):
    lines = _lines()
    lines[3] = URL_81.replace('"download.windowsupdate.com/msdownload/a.cab"', '"download.windowsupdate.com/a')
    path = tmp_path / "open.log"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 0)
    assert _parse_file(path) is None
    assert_same(path, monkeypatch)


def test_a_field_the_csv_reader_refuses_midway_is_read_again_chunk_by_chunk(tmp_path, monkeypatch):
    # Enough lines (about 14 MB) that the CSV reader hands out batches before it meets the line.
    lines = [HEADER + payload(TRAFFIC_81, 115, c22=str(i), **N115) for i in range(30_000)] + _lines()
    # Quotes balanced on the line, but a quote inside an unquoted field, then a quoted field
    # that never closes before the comma: the CSV reader stops with an error at this line.
    bad = 30_000 + 35
    lines[bad] = HEADER + payload(TRAFFIC_81).replace(",allow-updates,,", ',allow"x,"ab,')
    path = tmp_path / "midway.log"
    path.write_text("\n".join(lines) + "\n")
    with monkeypatch.context() as m:
        m.setattr(paloalto_stream, "MIN_BYTES", 0)
        m.setattr(paloalto_stream, "BATCH_ROWS", 2000)
        rest = [part.after for part in _parse_file(path) if isinstance(part, Resume)]
    assert rest and 0 < rest[0] <= bad  # the lines before it came from the streaming path
    assert_same(path, monkeypatch, batch_rows=2000)


def _src(path: Path):
    return SourceFile(path=path, name=str(path))


def _parse_file(path: Path):
    return paloalto_stream.parse_file(str(path), path.stat().st_size, [], _ctx())


def _ctx():
    return ParseContext(file="pan.log")


def test_only_big_plain_syslog_files_are_streamed(tmp_path, monkeypatch):
    import gzip

    plain = tmp_path / "a.log"
    plain.write_text(HEADER + payload(TRAFFIC_81) + "\n")
    zipped = tmp_path / "a.log.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    bom = tmp_path / "bom.log"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    export = SAMPLES / "paloalto" / "pa3220-export-traffic.csv"
    head = lambda p: p.read_text(errors="replace").splitlines()[:5]  # noqa: E731
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 0)
    size = plain.stat().st_size
    # The reader offers the parser plain files only; the parser takes big syslog files.
    assert is_plain(_src(plain)) and paloalto_stream.eligible(size, head(plain))
    assert not is_plain(_src(zipped))
    assert not is_plain(_src(bom))
    assert not paloalto_stream.eligible(export.stat().st_size, head(export))
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 1 << 30)
    assert not paloalto_stream.eligible(size, head(plain))


def test_counts_add_up_with_a_frame_of_every_line(tmp_path, monkeypatch):
    path = tmp_path / "pan.log"
    path.write_text("\n".join(_lines()) + "\n")
    result = _read(path, True, monkeypatch)
    (f,) = result.files
    assert f.lines == len(_lines()) == f.records + f.rejects + f.skipped_total
    assert result.rejects.filter(pl.col("raw").is_null()).is_empty()  # every reject has its text


def test_progress_is_reported_as_batches_are_done(tmp_path, monkeypatch):
    path = tmp_path / "pan.log"
    path.write_text("\n".join(_lines()) + "\n")
    seen: list[int] = []
    with monkeypatch.context() as m:
        m.setattr(paloalto_stream, "MIN_BYTES", 0)
        m.setattr(paloalto_stream, "BATCH_ROWS", 7)
        read_logs([str(path)], format="paloalto", progress=lambda src, n: seen.append(n))
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_undecodable_bytes_send_the_file_to_the_chunked_path(tmp_path, monkeypatch):
    path = tmp_path / "bad.log"
    lines = [line.encode() for line in _lines()]
    lines[5] = lines[5].replace(b"PA-3220", b"PA-\xff3220", 1)
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 0)
    assert _parse_file(path) is None
    assert_same(path, monkeypatch)
    assert _read(path, True, monkeypatch).files[0].decode_errors == 1


def test_lines_written_after_the_lines_pass_are_not_read(tmp_path, monkeypatch):
    # A log still being written: the CSV pass reads no further than the lines pass saw.
    path = tmp_path / "live.log"
    path.write_text("\n".join(_lines()) + "\n")
    monkeypatch.setattr(paloalto_stream, "MIN_BYTES", 0)
    parts = _parse_file(path)
    with path.open("a") as fh:
        fh.write("\n".join(_lines()) + "\n")
    assert sum(part.lines for part in parts) == len(_lines())
