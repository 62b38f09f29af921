"""read_logs: detection, accounting of every line, folders, forced formats, streaming sinks."""

from __future__ import annotations

import polars as pl
import pytest

from analyzer.errors import AnalyzerError, InputError, UnknownNameError
from analyzer.flows import FLOW_SCHEMA, REJECT_SCHEMA
from analyzer.parsers.base import ParseOptions
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

GOOD = (
    "1793754061.667    234 192.0.2.10 TCP_TUNNEL/200 55750 "
    "CONNECT fe2.update.microsoft.com:443 - HIER_DIRECT/203.0.113.42 -"
)


def test_every_line_accounted_for(write):
    path = write("access.log", "\n".join([GOOD, "", "garbage", GOOD, "2026/11/04 01:12:07 kid1| note"]) + "\n")
    result = read_logs([str(path)])
    (f,) = result.files
    assert (f.format, f.lines, f.records, f.rejects, f.skipped) == ("squid", 5, 2, 2, {"blank": 1})
    assert f.first_reject_line == 3
    assert result.flows.schema == FLOW_SCHEMA and result.rejects.schema == REJECT_SCHEMA
    assert result.flows["line_no"].to_list() == [1, 4]
    assert result.flows["source_file"].unique().to_list() == [str(path)]
    assert result.files_frame.row(0, named=True)["lines"] == 5


def test_nothing_parses_is_an_error(write):
    path = write("bad.log", f"{GOOD}\n{GOOD}\n")
    with pytest.raises(InputError, match="nothing parses as squid"):
        read_logs([str(write("junk.log", "1793754061.667 a b c d e f g h i j k\n" * 3))], format="squid")
    assert read_logs([str(path)]).files[0].records == 2


def test_unknown_format_and_zone():
    with pytest.raises(UnknownNameError, match="did you mean 'squid'"):
        read_logs(["x"], format="squidd")
    with pytest.raises(AnalyzerError, match="unknown time zone"):
        read_logs(["x"], options=ParseOptions(tz="Mars/Olympus"))


def test_unrecognised_named_file_is_error_folder_file_is_listed(tmp_path, write):
    write("d/notes.txt", "hello\nworld\n")
    write("d/access.log", GOOD + "\n")
    result = read_logs([str(tmp_path / "d")])
    status = {f.file.rsplit("/", 1)[-1]: f.status for f in result.files}
    assert status == {"access.log": "read", "notes.txt": "skipped: format not recognised"}
    with pytest.raises(InputError, match="format not recognised"):
        read_logs([str(tmp_path / "d" / "notes.txt")])


@pytest.mark.parametrize(("content", "blank"), [("", 0), ("\n\r\n  \n", 3)])
def test_empty_file_is_listed_not_refused(write, content, blank):
    """An empty rotated log is normal: it reads as 'empty', its blank lines skipped, even with
    --format; a file with text after blank lines is still sniffed."""
    for fmt in (None, "squid"):
        (summary,) = read_logs([str(write("empty.log", content))], format=fmt).files
        assert (summary.status, summary.lines, summary.skipped_total, summary.records) == ("empty", blank, blank, 0)
    late = write("late.log", "\n" * 60 + GOOD + "\n")
    (summary,) = read_logs([str(late)]).files
    assert (summary.format, summary.records, summary.skipped) == ("squid", 1, {"blank": 60})


def test_sink_streams_records(write):
    path = write("a.log", f"{GOOD}\n{GOOD}\n")
    got: list[tuple[str, pl.DataFrame]] = []
    result = read_logs([str(path)], sink=lambda kind, frame: got.append((kind, frame)))
    assert result.flows.height == 0
    assert [k for k, _ in got] == ["flows"] and got[0][1].height == 2


def test_chunks_of_one_file_keep_line_numbers(write, monkeypatch):
    import analyzer.sources as sources

    lines = [GOOD if i % 10 else "junk" for i in range(1, 101)]
    path = write("a.log", "\n".join(lines) + "\n")
    original = sources.iter_chunks
    monkeypatch.setattr("analyzer.pipeline.read.iter_chunks", lambda src, progress=None: original(src, 300, progress))
    result = read_logs([str(path)])
    assert result.rejects["line_no"].to_list() == list(range(10, 101, 10))
    assert result.flows.height == 90
    assert result.files[0].first_reject_line == 10


@pytest.mark.parametrize(
    "sample", ["squid/access.log", "paloalto/pa3220-traffic-10.2.log", "paloalto/pa3220-export-url.csv"]
)
def test_chunks_parsed_side_by_side_equal_one_by_one(monkeypatch, sample):
    # A big file's chunks are parsed concurrently (and each on one thread); small chunks and a
    # threshold of 0 bytes make every sample "big". The result must not change in any way.
    import analyzer.pipeline.read as read
    import analyzer.sources as sources

    path = str(SAMPLES / sample)
    one_by_one = read_logs([path])
    original = sources.iter_chunks
    monkeypatch.setattr(read, "iter_chunks", lambda src, progress=None: original(src, 512, progress))
    monkeypatch.setattr(read, "CHUNK_BYTES", 0)
    calls: list[int] = []
    ordered = read.ordered_map
    monkeypatch.setattr(
        read,
        "ordered_map",
        lambda fn, items, workers, ahead=None: calls.append(workers) or ordered(fn, items, workers, ahead),
    )
    side_by_side = read_logs([path])
    assert calls == [pl.thread_pool_size()]
    assert side_by_side.flows.equals(one_by_one.flows)
    assert side_by_side.rejects.equals(one_by_one.rejects)
    assert side_by_side.files_frame.equals(one_by_one.files_frame)


def test_samples_read():
    result = read_logs([str(SAMPLES / "squid")])
    read = [f for f in result.files if f.status == "read"]
    assert len(read) >= 4  # others may add samples here
    for f in read:
        assert f.lines == f.records + f.rejects + f.skipped_total
    assert set(result.flows["action"].unique()) == {"allowed", "blocked", "auth-required", "failed"}


def test_ordered_map_keeps_order_and_bounds_what_runs_ahead():
    import threading

    from analyzer.pipeline.concurrency import ordered_map

    started: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            started.append(i)
        return i * i

    items = iter(range(20))
    got = []
    for value in ordered_map(work, items, 2, ahead=3):
        # When the caller holds result k, items up to k + 3 may have been drawn, never more.
        got.append(value)
        assert len(started) <= len(got) + 3
    assert got == [i * i for i in range(20)]
