"""The worker processes of the usage scan: a small pool, started once and reused.

CPython threads share one GIL and walk no faster than one; processes each stat on
their own core. The workers are plain child processes (usage_worker) fed through
pipes, not ``multiprocessing``: a fresh interpreter is safe to start from the console,
which has threads (fork is not), and it never re-imports the program's main module
(which for ``python -m omero_tui`` would open a console in each worker). Whoever makes
a pool closes it; a worker also exits by itself when its stdin closes.
``workers=0`` runs the same tasks in the calling process.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from omero_tui.core.usage.walk import walk_task
from omero_tui.core.usage.worker import read_frame, write_frame

MAX_WORKERS = 8
DRAIN_SECONDS = 2.0  # how long a cancelled scan waits for a busy worker before killing it
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerDied(Exception):
    """A worker process ended mid-task (killed, out of memory)."""


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        # The package is importable in the worker even when run from a source tree.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omero_tui.core.usage.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin.fileno()
        self.stdout = self.process.stdout.fileno()
        self.tag: object = None
        self.busy = False
        self.dead = False

    def send(self, tag: object, args: tuple) -> None:
        try:
            write_frame(self.stdin, args)
        except OSError as err:
            raise WorkerDied(str(err)) from err
        self.tag, self.busy = tag, True

    def receive(self) -> tuple[object, object]:
        try:
            status, value = read_frame(self.stdout)  # type: ignore[misc]
        except (EOFError, OSError, ValueError) as err:
            raise WorkerDied("a scan worker process ended unexpectedly") from err
        self.busy = False
        if status != "ok":
            raise RuntimeError(f"scan worker failed: {value}")
        return self.tag, value

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ScanPool:
    """Hands walk tasks to idle workers and collects their results."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self._procs: list[_Worker] = []
        self._inline: list[tuple[object, object]] = []  # results when workers == 0
        self._lock = threading.Lock()  # one scan at a time on a pool

    @property
    def parallel(self) -> int:
        return max(1, self.workers)

    def start(self) -> None:
        """Start the workers (once); with none startable, run tasks in this process."""
        if self.workers == 0 or len(self._procs) == self.workers:
            return
        try:
            while len(self._procs) < self.workers:
                self._procs.append(_Worker())
        except OSError:
            self.close()
            self.workers = 0

    def session(self) -> _Session:
        return _Session(self)

    def close(self) -> None:
        procs, self._procs = self._procs, []
        for worker in procs:
            worker.stop(kill=worker.busy)

    def __enter__(self) -> ScanPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Session:
    """One scan's use of the pool: ``with pool.session() as s:`` holds it exclusively."""

    def __init__(self, pool: ScanPool) -> None:
        self.pool = pool

    def __enter__(self) -> _Session:
        self.pool._lock.acquire()
        self.pool.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._drain()
        finally:
            self.pool._lock.release()

    def pending(self) -> int:
        """Tasks handed out whose results have not been collected."""
        if self.pool.workers == 0:
            return len(self.pool._inline)
        return sum(w.busy for w in self.pool._procs)

    def idle(self) -> int:
        if self.pool.workers == 0:
            return 0 if self.pool._inline else 1
        return sum(not w.busy for w in self.pool._procs)

    def submit(self, tag: object, args: tuple) -> None:
        if self.pool.workers == 0:
            self.pool._inline.append((tag, walk_task(*args)))
            return
        worker = next(w for w in self.pool._procs if not w.busy)
        worker.send(tag, args)

    def results(self, timeout: float) -> Iterator[tuple[object, object]]:
        """Results that arrive within ``timeout`` seconds (all finished ones)."""
        if self.pool.workers == 0:
            done, self.pool._inline = self.pool._inline, []
            yield from done
            return
        busy = [w for w in self.pool._procs if w.busy]
        if not busy:
            return
        with selectors.DefaultSelector() as selector:
            for worker in busy:
                selector.register(worker.stdout, selectors.EVENT_READ, worker)
            ready = selector.select(timeout)
        for key, _ in ready:
            yield key.data.receive()

    def _drain(self) -> None:
        """After a cancel or an error: let busy workers finish (their results unread)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while (busy := [w for w in self.pool._procs if w.busy]) and time.monotonic() < deadline:
            with selectors.DefaultSelector() as selector:
                for worker in busy:
                    selector.register(worker.stdout, selectors.EVENT_READ, worker)
                for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                    try:
                        key.data.receive()
                    except (WorkerDied, RuntimeError):
                        key.data.busy = False
                        key.data.dead = True
        stuck = [w for w in self.pool._procs if w.busy or w.dead]
        for worker in stuck:  # a task that never ends (a hung NFS server): start afresh
            worker.stop(kill=True)
            self.pool._procs.remove(worker)
