"""Shared test helpers: small inputs built in memory, and where the real third-party logs are."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
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
