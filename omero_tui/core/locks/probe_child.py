"""The other side of the lock probe: a separate process that opens the probe file itself.

Run as ``python -m omero_tui.core.locks.probe_child``. It reads one JSON request per
line on stdin and answers one JSON line on stdout, so the console can put a timeout
on every step and kill it when a filesystem call hangs. It imports nothing but the
standard library: it must start fast and must not depend on the console's state.

Requests (``op``): ``create`` (a new empty probe file, never an existing one),
``open``, ``lock`` (``kind`` flock|fcntl, ``mode`` ex|sh, ``wait`` seconds, 0 = one
non-blocking try; a waiting request first answers ``{"waiting": true}`` once refused),
``unlock``, ``write_probe`` (create, fsync, rename, fsync the
directory, read back, delete: what the server does when it writes), ``remove`` and
``exit``. Successful answers carry ``began`` and ``at``, the monotonic times around the call
(for a lock, ``at`` is when it was acquired).
End of input also ends the process, so a dead console leaves no child.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

# The answers a lock held by someone else gives; any other errno is a broken lock.
REFUSED = frozenset({errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK})
POLL_S = 0.0002  # the resolution of the hand-over latency; a few thousand tries at most
WRITE_PROBE_BYTES = b"omero-tui write probe: safe to delete\n" * 8


class Locker(Protocol):
    def lock(self, fd: int, kind: str, mode: str) -> None:
        """Take the lock without blocking; raise OSError when refused or broken."""

    def unlock(self, fd: int, kind: str) -> None: ...


class PosixLocker:
    """The real thing: flock(2) as portalocker takes it, fcntl(2) records as Java does."""

    def lock(self, fd: int, kind: str, mode: str) -> None:
        import fcntl

        flag = (fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH) | fcntl.LOCK_NB
        if kind == "flock":
            fcntl.flock(fd, flag)
        else:
            fcntl.lockf(fd, flag)  # F_SETLK on the whole file, like FileChannel.lock()

    def unlock(self, fd: int, kind: str) -> None:
        import fcntl

        if kind == "flock":
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            fcntl.lockf(fd, fcntl.LOCK_UN)


class _Child:
    def __init__(self, locker: Locker, say: Callable[[dict[str, Any]], None]) -> None:
        self.locker = locker
        self.say = say  # an extra line before the answer ("waiting")
        self.fd: int | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        started = time.perf_counter()
        began = _now()  # a release happens between "began" and "at"
        try:
            if op == "create":
                os.close(os.open(request["path"], os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
            elif op == "open":
                self._close()
                self.fd = os.open(request["path"], os.O_RDWR)
            elif op == "lock":
                wait = float(request.get("wait", 0))
                return self._lock(request["kind"], request["mode"], wait)
            elif op == "unlock":
                self.locker.unlock(self._fd(), request["kind"])
            elif op == "write_probe":
                return _write_probe(request["directory"], request["name"], started)
            elif op == "remove":
                return _remove(request["paths"], started)
            elif op == "close":
                self._close()
            else:
                return {"ok": False, "errno": None, "error": f"unknown op {op!r}"}
        except OSError as err:
            return _failure(err, started)
        answer = {"ok": True, "errno": None, "error": None, "ms": _ms(started)}
        return {**answer, "began": began, "at": _now()}

    def _lock(self, kind: str, mode: str, wait: float) -> dict[str, Any]:
        """One try, or (wait > 0) retries until the deadline; the first refusal of a
        waiting request is announced, so the console releases only once we wait."""
        started = time.perf_counter()
        deadline = started + wait
        announced = False
        while True:
            try:
                self.locker.lock(self._fd(), kind, mode)
            except OSError as err:
                if err.errno in REFUSED and time.perf_counter() < deadline:
                    if not announced:
                        self.say({"waiting": True})
                        announced = True
                    time.sleep(POLL_S)
                    continue
                return _failure(err, started)
            return {"ok": True, "errno": None, "error": None, "ms": _ms(started), "at": _now()}

    def _fd(self) -> int:
        if self.fd is None:
            raise OSError(errno.EBADF, "no probe file open")
        return self.fd

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # also drops every lock this process holds on it
            self.fd = None


def _write_probe(directory: str, name: str, started: float) -> dict[str, Any]:
    temp, final = os.path.join(directory, name + ".tmp"), os.path.join(directory, name)
    phase = "create"
    made: list[str] = []  # only what this probe created is removed, never a file found there
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        made.append(temp)
        try:
            phase = "write"
            os.write(fd, WRITE_PROBE_BYTES)
            phase = "fsync"
            os.fsync(fd)
        finally:
            os.close(fd)
        phase = "rename"
        if os.path.lexists(final):  # a rename would replace a file this probe did not make
            raise OSError(errno.EEXIST, f"{final} already exists")
        made.append(final)  # from here on, whatever is at final is this probe's
        os.rename(temp, final)
        phase = "fsync directory"
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        phase = "read back"
        with open(final, "rb") as handle:
            if handle.read() != WRITE_PROBE_BYTES:
                raise OSError(errno.EIO, "read back different bytes than were written")
        phase = "delete"
        os.unlink(final)
    except OSError as err:
        for path in made:  # never leave a probe file behind
            with contextlib.suppress(OSError):
                os.unlink(path)
        answer = _failure(err, started)
        answer["phase"] = phase
        answer["left"] = [p for p in made if os.path.lexists(p)]  # for the console to retry
        return answer
    return {"ok": True, "errno": None, "error": None, "ms": _ms(started)}


def _remove(paths: list[str], started: float) -> dict[str, Any]:
    left, error = [], None
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            left.append(path)
            error = error or err
    if error is None:
        return {"ok": True, "errno": None, "error": None, "ms": _ms(started), "left": []}
    return {**_failure(error, started), "left": left}


def _failure(err: OSError, started: float) -> dict[str, Any]:
    return {"ok": False, "errno": err.errno, "error": err.strerror or str(err), "ms": _ms(started)}


def _now() -> float:
    # CLOCK_MONOTONIC is one clock for the whole machine, so the console can subtract
    # one process's release time from the other's acquire time.
    return time.monotonic()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def serve(requests: IO[str], answers: IO[str], locker: Locker) -> None:
    """Answer requests until ``exit`` or end of input."""

    def say(line: dict[str, Any]) -> None:
        answers.write(json.dumps(line) + "\n")
        answers.flush()

    child = _Child(locker, say)
    say({"ok": True, "ready": True, "pid": os.getpid()})
    for line in requests:
        try:
            request = json.loads(line)
        except ValueError:
            request = {"op": None}
        if request.get("op") == "exit":
            break
        say(child.handle(request))
    child._close()


def main() -> int:
    serve(sys.stdin, sys.stdout, PosixLocker())
    return 0


if __name__ == "__main__":
    sys.exit(main())
