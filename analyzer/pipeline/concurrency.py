"""Concurrency, in one place: a reader thread that reads ahead, and an ordered map over a pool
of threads with a bound on what is in flight. Polars releases the GIL, so threads run side by
side; the bound keeps memory to a few chunks.

The stages themselves start no thread: parsers parse one chunk, the writer is handed frames.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, ahead: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, yielding results in the items' order.

    Items are drawn in the caller's thread, at most ``ahead`` (default ``workers``) ahead of
    the results yielded, so at most that many are in memory. With ``ahead`` above ``workers``,
    every worker stays busy while the caller works on a result. With one worker everything runs
    in the caller's thread. Example: ``list(ordered_map(str, range(3), 2)) == ["0", "1", "2"]``.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="analyzer-parse") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= (ahead or workers):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def mapper(workers: int) -> Callable[[Callable[[T], R], Iterable[T]], Iterator[R]]:
    """:func:`ordered_map` on ``workers`` threads, as ``ParseContext.map`` takes it."""
    return lambda fn, items: ordered_map(fn, items, workers)


class _Stopped(Exception):
    """The consumer stopped reading: the producer ends."""


def produced(work: Callable[[Callable[[T], None]], None], depth: int = 1, name: str = "analyzer-reader") -> Iterator[T]:
    """Yield what ``work(put)`` puts, while it runs in a background thread (at most ``depth``
    items wait). An error of ``work`` is raised here, in the consumer, after the items it put
    before it; when the consumer stops early, ``put`` ends ``work``.
    """
    queue: Queue = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue
        raise _Stopped

    def run() -> None:
        try:
            work(put)
            put(done)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            with contextlib.suppress(_Stopped):
                put(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def prefetch(chunks: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield ``chunks`` while a background thread reads ahead up to ``depth`` chunks.

    Reading (file I/O, decompression, splitting into lines) releases the GIL, so it overlaps
    with parsing the previous chunk on the other core. Errors of the reader are raised here, in
    the consumer, at the point the failing chunk would have been yielded.
    """

    def work(put: Callable[[T], None]) -> None:
        for chunk in chunks:
            put(chunk)

    return produced(work, depth)
