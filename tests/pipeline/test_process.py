"""Allocator settings: applied by the command's entry point, and a user's own settings win."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from analyzer.pipeline import process as allocator

# The entry point of `analyzer` and `python -m analyzer`, run up to --version's exit.
PROBE = """
import os, sys
sys.argv = ["analyzer", "--version"]
from analyzer.__main__ import main
try:
    main()
except SystemExit:
    pass
print(os.environ.get("_RJEM_MALLOC_CONF"))
"""


def _run(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("_RJEM_MALLOC_CONF",)}
    return (
        subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )


def test_jemalloc_setting_applied_unless_the_user_set_one():
    # Polars puts its own defaults in front when it loads; jemalloc lets later options win.
    assert _run({}).endswith(allocator.JEMALLOC_CONF)
    user = _run({"_RJEM_MALLOC_CONF": "dirty_decay_ms:0"})
    assert user.endswith("dirty_decay_ms:0") and allocator.JEMALLOC_CONF not in user


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_glibc_thresholds_left_alone_when_the_user_set_them(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))

    monkeypatch.setattr("ctypes.CDLL", lambda name: FakeLibc())
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    allocator.configure()
    if allocator.platform.libc_ver()[0] == "glibc":
        assert calls == [(-3, allocator.MMAP_THRESHOLD), (-1, allocator.TRIM_THRESHOLD)]
    calls.clear()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    allocator.configure()
    assert calls == []
