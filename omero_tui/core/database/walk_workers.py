"""The directory walk spread over worker processes, read back in one byte order.

A Python walk costs about twice ``du``'s CPU (a ``stat`` result is a Python object per
file), so one core cannot keep up with ``du``. The area's top-level directories are
dealt round-robin to worker processes (``python -m`` this module: a fresh interpreter
that imports only the walk), each walks its share in order and streams the listings
back (``marshal`` frames, as the usage scan's workers do); the reader takes subtree 0
from worker 0, subtree 1 from worker 1, and so on, which is the order ``walk_dirs``
gives. A worker runs ahead of the reader by at most ``AHEAD_FRAMES`` frames.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator

from omero_tui.core.database.disk_dirs import OPEN_DIR, DiskDir, listing, to_bytes, walk_dirs
from omero_tui.core.usage.worker import read_frame, start_worker, write_frame

FRAME_ENTRIES = 2_000  # names per frame
AHEAD_FRAMES = 64  # frames a worker's reader holds: some 130k entries each
_END = ("end",)


class WalkFailed(Exception):
    """A worker process died mid-walk; ``str(err)`` is one line."""


def worker_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def serve(stdin: int, stdout: int) -> int:
    """A worker: walk each subtree of the task, stream its listings, then ``end``."""
    root, names = read_frame(stdin)  # type: ignore[misc]
    for name in names:
        prefix = to_bytes(name) + b"/"
        frame: list[tuple] = []
        weight = 0

        def error(key: bytes, err: OSError, prefix: bytes = prefix) -> None:
            write_frame(stdout, ("error", prefix + key, err.strerror or str(err)))

        for d in walk_dirs(root + b"/" + prefix, on_error=error):
            frame.append((prefix + d.key, d.names, d.sizes, d.files, d.total, d.dirs))
            weight += d.files + len(d.dirs) + 1
            if weight >= FRAME_ENTRIES:
                write_frame(stdout, ("dirs", frame))
                frame, weight = [], 0
        if frame:
            write_frame(stdout, ("dirs", frame))
        write_frame(stdout, _END)
    return 0


class _Worker:
    def __init__(self, root: bytes, names: list[str]) -> None:
        self.process = start_worker("omero_tui.core.database.walk_workers")
        assert self.process.stdin is not None and self.process.stdout is not None
        write_frame(self.process.stdin.fileno(), (root, names))
        self.process.stdin.close()
        self.frames: queue.Queue[object] = queue.Queue(maxsize=AHEAD_FRAMES)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, name="omero-tui-walk-reader")
        self.thread.daemon = True
        self.thread.start()

    def _read(self) -> None:
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        while not self.stopped.is_set():
            try:
                frame = read_frame(fd)
            except (EOFError, OSError, ValueError):
                frame = ("died",)
            while not self.stopped.is_set():
                with contextlib.suppress(queue.Full):
                    self.frames.put(frame, timeout=0.1)
                    break
            if frame[0] == "died":  # type: ignore[index]
                return

    def stop(self) -> None:
        self.stopped.set()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.thread.join()
        self.process.stdout.close()  # type: ignore[union-attr]


def walk_dirs_parallel(
    root: bytes,
    *,
    skip_top: tuple[str, ...] = (),
    on_error: Callable[[bytes, OSError], None] | None = None,
    workers: int | None = None,
) -> Iterator[DiskDir]:
    """``walk_dirs``' listings, in its order, walked by worker processes."""
    count = worker_count() if workers is None else workers
    try:
        fd = os.open(root, OPEN_DIR)
        try:
            names, sizes, dirs = listing(fd)
        finally:
            os.close(fd)
    except OSError:
        yield from walk_dirs(root, skip_top=skip_top, on_error=on_error)  # it says why
        return
    dirs = [d for d in dirs if d not in skip_top]
    if count < 2 or len(dirs) < 2:
        yield from walk_dirs(root, skip_top=skip_top, on_error=on_error)
        return
    pool: list[_Worker] = []
    try:
        for i in range(min(count, len(dirs))):
            try:
                pool.append(_Worker(root, dirs[i::count]))
            except OSError as err:
                raise WalkFailed(f"cannot start a disk walk worker process: {err}") from None
        yield DiskDir.of(b"", names, sizes, dirs)
        for i in range(len(dirs)):
            worker = pool[i % len(pool)]
            while True:
                frame = worker.frames.get()
                kind = frame[0]  # type: ignore[index]
                if kind == "end":
                    break
                if kind == "dirs":
                    for item in frame[1]:  # type: ignore[index]
                        yield DiskDir(*item)
                elif kind == "error":
                    if on_error is not None:
                        _, key, text = frame  # type: ignore[misc]
                        on_error(key, OSError(0, text))
                else:
                    raise WalkFailed(
                        f"a disk walk worker process ended unexpectedly in {os.fsdecode(root)}"
                        " (killed, or out of memory?): nothing was judged"
                    )
    finally:
        for worker in pool:
            worker.stop()


if __name__ == "__main__":
    sys.exit(serve(sys.stdin.fileno(), sys.stdout.fileno()))
