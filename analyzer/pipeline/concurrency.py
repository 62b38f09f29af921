"""Concurrency, in one place: a reader thread that reads ahead, and an ordered map over a pool
of threads with a bound on what is in flight. Polars releases the GIL, so threads run side by
side; the bound keeps memory to a few chunks.

The stages themselves start no thread: parsers parse one chunk, the writer is handed frames.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, yielding results in the items' order.

    Items are drawn in the caller's thread, at most ``workers`` ahead of the results yielded
    (so at most that many are in memory); with one worker everything runs in the caller's
    thread. Example: ``list(ordered_map(str, range(3), 2)) == ["0", "1", "2"]``.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="analyzer-parse") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def mapper(workers: int) -> Callable[[Callable[[T], R], Iterable[T]], Iterator[R]]:
    """:func:`ordered_map` on ``workers`` threads, as ``ParseContext.map`` takes it."""
    return lambda fn, items: ordered_map(fn, items, workers)


def prefetch(chunks: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield ``chunks`` while a background thread reads ahead up to ``depth`` chunks.

    Reading (file I/O, decompression, splitting into lines) releases the GIL, so it overlaps
    with parsing the previous chunk on the other core. Errors of the reader are raised here, in
    the consumer, at the point the failing chunk would have been yielded.
    """
    queue: Queue = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def reader() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    thread = threading.Thread(target=reader, name="analyzer-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
