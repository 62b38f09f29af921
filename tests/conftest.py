"""Shared test helpers: small inputs built in memory, where the samples and the real
third-party logs are, and the ``golden`` fixture.

Golden files are regenerated with one command, ``make goldens`` (``ANALYZER_UPDATE_GOLDEN=1
pytest tests/test_conformance.py tests/reports/test_report_golden.py``); read the diff before
committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
GOLDEN = ROOT / "tests" / "golden"
UPDATE_GOLDEN = os.environ.get("ANALYZER_UPDATE_GOLDEN") == "1"
REAL_LOGS = ROOT.parent / "shared" / "real-logs"
"""Third-party samples (../shared/real-logs); tests that need them skip when they are absent."""


def lines_frame(lines: list[str], first: int = 1) -> pl.DataFrame:
    """A chunk as sources.iter_chunks yields it: ``line_no`` from ``first`` and ``text``."""
    return pl.DataFrame(
        {
            "line_no": pl.Series(range(first, first + len(lines)), dtype=pl.Int64),
            "text": pl.Series(lines, dtype=pl.String),
        }
    )


@pytest.fixture
def samples() -> Path:
    """``data/samples``: one folder per format, and the sample site file."""
    return SAMPLES


@pytest.fixture
def site_file() -> str:
    """The sample site file (``data/samples/site.toml``) the samples were written for."""
    return str(SAMPLES / "site.toml")


@pytest.fixture
def make_lines():
    """``make_lines(["...", ...])`` → a frame of ``line_no``/``text`` rows."""
    return lines_frame


@pytest.fixture
def real_logs() -> Path:
    if not REAL_LOGS.is_dir():
        # In CI the reference logs are always beside the clone: their absence is a failure there,
        # never a silent skip.
        if os.environ.get("CI"):
            pytest.fail(f"{REAL_LOGS} is missing")
        pytest.skip("../shared/real-logs is not present")
    return REAL_LOGS


@pytest.fixture
def write(tmp_path):
    """Write text (str) or bytes to a file under tmp_path; returns its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
        return path

    return _write


def _golden_text(frame: pl.DataFrame) -> str:
    """A frame as golden CSV text: lists joined by "|", times in ISO 8601 (UTC), nulls empty."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    frame = frame.with_columns(pl.col(n).cast(pl.List(pl.String)).list.join("|") for n in lists)
    return frame.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S%.6fZ")


@pytest.fixture
def golden():
    """``golden(relative_path, value)``: ``value`` (a frame, as CSV, or text) must equal
    ``tests/golden/<path>``; with ``ANALYZER_UPDATE_GOLDEN=1`` (``make goldens``) the file is
    written instead."""

    def check(relative: str, value: pl.DataFrame | str) -> None:
        path = GOLDEN / relative
        text = value if isinstance(value, str) else _golden_text(value)
        if UPDATE_GOLDEN:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        assert path.is_file(), f"{path} is missing: run `make goldens`, read it, commit it"
        assert text == path.read_text(encoding="utf-8"), f"{relative} differs from its golden file (make goldens)"

    return check
