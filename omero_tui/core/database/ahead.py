"""Run an iterator in a thread, a bounded number of batches ahead of its reader.

The check reads two streams at once: PostgreSQL's sorted rows (the server sorts a
whole table before the first row comes, and the client thread waits on its socket
with the GIL released) and the disk walk (whose ``scandir`` and ``stat`` release it
too). Running each ahead in a thread lets the server sort while the disk is walked,
instead of one after the other. Memory stays bounded: at most ``depth`` batches wait.
An error in the thread is raised in the reader; ``close`` stops the thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()
WAIT_TICK = 0.1  # seconds between on_wait calls while the reader waits


class Ahead(Generic[T]):
    def __init__(
        self,
        batches: Callable[[], Iterable[list[T]]],
        *,
        depth: int = 8,
        name: str = "omero-tui-ahead",
        on_close: Callable[[], None] | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self._batches = batches
        self._on_wait = on_wait
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._on_close = on_close
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for batch in self._batches():
                if not self._put(batch):
                    return
        except BaseException as err:  # noqa: BLE001 - handed to the reader, raised there
            self._put(err)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                item = self._queue.get(timeout=WAIT_TICK)
            except queue.Empty:
                if self._on_wait is not None:
                    self._on_wait()  # a cancel (it raises) while the server still sorts
                continue
            if item is _END:
                self._thread.join()
                return
            if isinstance(item, BaseException):
                self._thread.join()
                raise item
            yield from item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the thread (it may be waiting on the database: ``on_close`` wakes it)."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join(timeout=1.0)
        if self._on_close is None:
            self._thread.join()
            return
        # Again while the thread lives: a cancel that reached the server just before
        # the thread sent its next query cancels nothing, and that query would run on.
        while self._thread.is_alive():
            self._on_close()
            self._thread.join(timeout=1.0)

    def __enter__(self) -> Ahead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def batched(
    items: Iterable[T], size: int, weight: Callable[[T], int] = lambda item: 1
) -> Iterator[list[T]]:
    """Lists of items whose weights add up to about ``size`` (the last one less)."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += weight(item)
        if total >= size:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch
