"""Report writers on two threads: every report written, paths in the order asked, the drawing
writers in one lane, the first error raised after the others finished."""

from __future__ import annotations

import threading

import pytest

from analyzer.api import write_reports
from analyzer.pipeline.check import run_check
from analyzer.reports import WRITERS, lanes

from ..conftest import SAMPLES


def test_lanes_keep_the_drawing_writers_together():
    assert lanes.lanes(["findings.json", "charts", "report.md", "report.html"]) == [
        ["findings.json"],
        ["charts", "report.html"],
        ["report.md"],
    ]
    assert lanes.lanes(list(WRITERS)).count(["charts", "report.html"]) == 1


@pytest.fixture(scope="module")
def result():
    return run_check([str(SAMPLES)], str(SAMPLES / "site.toml"))


def test_writers_side_by_side_write_what_one_after_another_does(result, tmp_path, monkeypatch):
    together = write_reports(result, tmp_path / "threads")
    monkeypatch.setattr(lanes, "THREADS", 1)
    alone = write_reports(result, tmp_path / "one")
    assert [p.relative_to(tmp_path / "threads") for p in together] == [p.relative_to(tmp_path / "one") for p in alone]
    for name in ("findings.json", "findings.csv", "findings.ocsf.json", "report.md", "report.html"):
        assert (tmp_path / "threads" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_drawing_writers_never_run_at_once_and_the_first_error_wins(result, tmp_path, monkeypatch):
    drawing, overlap = threading.Lock(), []

    def draws(name):
        def write(result, folder):
            if not drawing.acquire(blocking=False):
                overlap.append(name)
                return folder
            try:
                threading.Event().wait(0.05)
            finally:
                drawing.release()
            return folder / name

        return write

    def fails(message):
        def write(result, folder):
            raise RuntimeError(message)

        return write

    writers = {**WRITERS, "charts": draws("charts"), "report.html": draws("report.html")}
    monkeypatch.setattr("analyzer.reports.WRITERS", writers)
    assert write_reports(result, tmp_path, ["charts", "report.html"]) == [tmp_path / "charts", tmp_path / "report.html"]
    assert overlap == []
    writers.update({"findings.csv": fails("second"), "report.md": fails("first")})
    with pytest.raises(RuntimeError, match="first"):  # report.md comes first in the names
        write_reports(result, tmp_path, ["report.md", "findings.csv", "coverage.csv"])
    assert (tmp_path / "coverage.csv").exists()  # the others ran to the end
