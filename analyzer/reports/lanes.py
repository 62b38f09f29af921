"""Report writers run side by side: most of their work is polars (JSON and CSV encoding, the
OCSF text), which releases the GIL, so two threads overlap it. At 144,000 findings the writers
took 4.1 s one after the other, 2.5 s on two threads (three were slower again, on 2 cores).

Writers that draw with matplotlib (the charts, the HTML report that embeds them) share one lane:
matplotlib promises no thread safety, so they never draw at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

THREADS = 2
DRAWING = ("charts", "report.html")
"""Writers that draw figures: run one after the other, in one lane."""


def lanes(names: list[str]) -> list[list[str]]:
    """``names`` as lanes of writers to run in order: the drawing writers together (where the
    first of them stood), every other writer alone. Example:
    ``lanes(["findings.json", "charts", "report.md", "report.html"])`` is
    ``[["findings.json"], ["charts", "report.html"], ["report.md"]]``."""
    out: list[list[str]] = []
    drawing: list[str] | None = None
    for name in names:
        if name in DRAWING:
            if drawing is None:
                drawing = []
                out.append(drawing)
            drawing.append(name)
        else:
            out.append([name])
    return out


def run_writers(result, folder: Path, names: list[str], progress: Callable[[str, int, int], None] | None) -> list[Path]:
    """Run the writers ``names`` of :data:`analyzer.reports.WRITERS` on ``result`` into
    ``folder``, on :data:`THREADS` threads; returns their paths in the order of ``names``.
    ``progress("reports", done, total)`` is called from the caller's thread. The first error
    (in the order of ``names``) is raised once every writer has stopped."""
    from . import WRITERS

    def run(lane: list[str]) -> dict[str, Path]:
        return {name: WRITERS[name](result, folder) for name in lane}

    total = len(names)
    if progress is not None:
        progress("reports", 0, total)
    written: dict[str, Path] = {}
    errors: dict[int, BaseException] = {}
    with ThreadPoolExecutor(THREADS, thread_name_prefix="analyzer-report") as pool:
        futures = {pool.submit(run, lane): i for i, lane in enumerate(lanes(names))}
        for future in as_completed(futures):
            try:
                written.update(future.result())
            except BaseException as exc:  # raised below, after the other writers
                errors[futures[future]] = exc
            if progress is not None:
                progress("reports", len(written), total)
    if errors:
        raise errors[min(errors)]
    return [written[name] for name in names]
