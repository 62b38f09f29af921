"""Process settings for chunked parsing: allocator tuning, applied by the command's entry point
(:func:`analyzer.__main__.main`) before polars is loaded, never by ``import analyzer``.

A parse reads a log in 16 MiB blocks and builds frames of similar size, chunk after chunk. By
default both allocators in the process hand such memory back to the system as soon as it is
freed, so every chunk faults the same amount of fresh pages in again: system time that grows
with the log. Keeping freed memory for reuse a little longer makes `analyzer parse` 5-10 %
faster for some more peak memory (see :data:`JEMALLOC_CONF` for the measured trade). A user's
own settings (the environment variables below) always win.
"""

from __future__ import annotations

import os
import platform

JEMALLOC_CONF = "dirty_decay_ms:1000,muzzy_decay_ms:1000"
"""Polars' jemalloc keeps freed pages 1 s instead of 0.5 s. Read from ``_RJEM_MALLOC_CONF``
when polars is first imported. Measured on 20M realistic Squid lines, 2 cores (parse / check,
seconds and peak RSS): 10 s (the setting before) 23.8 s 1,584 MiB / 47.8 s 2,129 MiB; 1 s
24.4 s 1,282 MiB / 46.8 s 1,441 MiB; 0.5 s with muzzy 0 (polars' own) 26.6 s 1,046 MiB / 49.8 s
1,246 MiB. Ten seconds kept a long check's freed pages for nothing; one keeps the speed."""

MMAP_THRESHOLD = 64 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
"""glibc malloc (Python's bytes, pyarrow): blocks up to 64 MiB come from the heap rather than
from a fresh mapping each, and up to 256 MiB of freed heap is kept (1.05 -> 0.78 s of system
time on 1M PAN-OS lines)."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def configure() -> None:
    """Apply the settings above, unless the user set their own (or this is not glibc)."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError):  # no such library or function: keep the defaults
        pass
