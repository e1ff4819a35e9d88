"""The worker processes of the usage scan: a small pool, started once and reused.

CPython threads share one GIL and walk a local disk no faster than one; processes each
stat on their own core. The workers are plain child processes (usage_worker) fed
through pipes, not ``multiprocessing``. From the console, which has threads, a worker
is a fresh interpreter (``fork`` is not safe there), which never re-imports the
program's main module (for ``python -m omero_tui`` that would open a console in each
worker). A headless command has no other thread: there a worker is forked, which
costs a millisecond instead of an interpreter's start. Whoever makes a pool closes it;
a worker also exits by itself when its input closes. ``workers=0`` runs the same tasks
in the calling process.

A scan first walks in the calling process (``inline`` entries): a small tree is done
before any worker would have started, and only a tree that proves large starts them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from collections.abc import Iterator

from omero_tui.core.usage.child import ChildPid
from omero_tui.core.usage.walk import walk_task
from omero_tui.core.usage.worker import (
    DAYS,
    WALK,
    fork_child,
    read_frame,
    serve,
    start_worker,
    write_frame,
)

MAX_WORKERS = 8
# Entries walked in the calling process before workers are started: forked workers
# start in about a millisecond, fresh interpreters in tens of them.
INLINE_FORKED = 6_000
INLINE_SPAWNED = 25_000
DRAIN_SECONDS = 2.0  # how long a cancelled scan waits for a busy worker before killing it
TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    import subprocess


class WorkerDied(Exception):
    """A worker process ended mid-task (killed, out of memory)."""


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def can_fork() -> bool:
    """Forking is safe in a process with no other thread (the headless commands)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class _Forked(ChildPid):
    """A forked worker, with the part of Popen's interface the pool (and tests) use."""

    def __init__(self) -> None:
        pid, self.stdin_fd, self.stdout_fd = fork_child(serve)
        super().__init__(pid)

    def close_pipes(self) -> None:
        fds, self.stdin_fd, self.stdout_fd = (self.stdin_fd, self.stdout_fd), -1, -1
        for fd in fds:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __del__(self) -> None:  # a pool never closed: its workers still end (EOF)
        self.close_pipes()
        with contextlib.suppress(OSError):
            self.poll()


class _Worker:
    def __init__(self, fork: bool = False) -> None:
        self.tag: object = None
        self.busy = False
        self.dead = False
        if fork:
            self.process: _Forked | subprocess.Popen = _Forked()
            self.stdin, self.stdout = self.process.stdin_fd, self.process.stdout_fd
            return
        self.process = start_worker("omero_tui.core.usage.worker")
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin.fileno()
        self.stdout = self.process.stdout.fileno()

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
        self.release(kill)
        self.reap()

    def release(self, kill: bool = False) -> None:
        """Tell the worker to go (its input ends; ``kill``: at once)."""
        if kill:
            self.process.kill()
        if isinstance(self.process, _Forked):
            self.process.close_pipes()
            return
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def reap(self) -> None:
        """Wait for the worker to end (killed if it does not within 5 seconds)."""
        if isinstance(self.process, _Forked):
            if self.process.wait(timeout=5) is None:
                self.process.kill()
                self.process.wait()
            return
        import subprocess

        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ScanPool:
    """Hands walk tasks to idle workers and collects their results."""

    def __init__(
        self, workers: int | None = None, *, inline: int | None = None, fork: bool | None = None
    ) -> None:
        """``inline``: entries walked here before workers start (None: by how they start);
        ``fork``: fork the workers (None: when this process has no other thread)."""
        self.workers = default_workers() if workers is None else max(0, workers)
        self.fork = fork
        self._inline_entries = inline
        self._procs: list[_Worker] = []
        self._leaving: list[_Worker] = []  # told to go, not yet reaped (see let_go)
        self.started = 0  # workers started over the pool's life
        self.scans = 0  # sessions so far: a worker tells one scan's tasks from the next's
        self._inline: list[tuple[object, object]] = []  # results when workers == 0
        self._lock = threading.Lock()  # one scan at a time on a pool

    @property
    def parallel(self) -> int:
        return max(1, self.workers)

    @property
    def running(self) -> bool:
        return bool(self._procs)

    def inline_entries(self, expected: int | None = None) -> int:
        """How much a scan walks here first: nothing when workers already run, or when
        the last scan (``expected`` entries) says the tree is large, so they start at once."""
        if self.workers == 0 or self._procs:
            return 0
        if self._inline_entries is not None:
            inline = self._inline_entries
        else:
            inline = INLINE_FORKED if self._forks() else INLINE_SPAWNED
        return 0 if expected is not None and expected > 2 * inline else inline

    def _forks(self) -> bool:
        return can_fork() if self.fork is None else self.fork

    def start(self) -> None:
        """Start the workers (once); with none startable, run tasks in this process."""
        if self.workers == 0 or len(self._procs) == self.workers:
            return
        fork = self._forks()
        try:
            while len(self._procs) < self.workers:
                self._procs.append(_Worker(fork))
                self.started += 1
        except OSError:
            self.close()
            self.workers = 0

    def session(self) -> _Session:
        return _Session(self)

    def let_go(self) -> None:
        """Tell idle forked workers to go, reaped at ``close``: a headless command's scan
        is over, and they end while it writes its report. Forking anew costs about a
        millisecond; spawned workers (the console's) are kept for the next scan."""
        if self._procs and all(isinstance(w.process, _Forked) and not w.busy for w in self._procs):
            for worker in self._procs:
                worker.release()
            self._leaving += self._procs
            self._procs = []

    def close(self) -> None:
        procs, self._procs = self._procs + self._leaving, []
        self._leaving = []
        for worker in procs:  # all told first: they end side by side
            worker.release(kill=worker.busy)
        for worker in procs:
            worker.reap()

    def __enter__(self) -> ScanPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Session:
    """One scan's use of the pool: ``with pool.session() as s:`` holds it exclusively."""

    def __init__(self, pool: ScanPool) -> None:
        self.pool = pool
        self.number = 0

    def __enter__(self) -> _Session:
        self.pool._lock.acquire()
        self.pool.scans += 1
        self.number = self.pool.scans
        self.pool.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._drain()
            self.pool.let_go()
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
        worker.send(tag, (WALK, self.number, args))

    def kept_days(self) -> Iterator[dict[str, dict[str, dict[int, int]]]]:
        """Each worker's blocks by day of this scan's tasks, by tree path (with no task
        pending: the walk is over). In this process, tasks hand their days back directly."""
        workers = list(self.pool._procs) if self.pool.workers else []
        for worker in workers:  # all asked first: they answer at the same time
            worker.send(None, (DAYS, self.number))
        # All read before any is handed on: no answer is left in a pipe, whatever the
        # caller does with the first.
        yield from [worker.receive()[1] for worker in workers]  # type: ignore[misc]

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
