"""systemd's own answer to "where is this unit's file?" (``systemctl show``), asked early.

``systemctl show`` takes a few milliseconds, nearly all of it waiting for systemd (or
for whatever answers in its place) while this process has nothing to do. The Layout
area needs the answer only at its end, after it has probed every subdirectory, so it
asks at its start (``AskedEarly``) and reads the answer when it gets there: the wait
overlaps the probes. The question, the command and where it runs are the same as
asking when needed; only when it starts changes. Outside an ``AskedEarly`` block, or
for another unit, ``fragment_path`` asks then and there, as it always did.

The command is started with ``os.posix_spawnp`` (and waited for as the scan's forked
workers are, ``usage.child``) and read through a pipe, not with ``subprocess``: that
module (with ``locale`` for its text mode) costs a check about 2 ms of loading for
this one short command. What ``subprocess`` would do for it is done here: PATH
searched as this process has it, stdin and stderr on /dev/null, SIGPIPE and SIGXFSZ
back to their defaults, no descriptor of ours inherited, and a command that outlives
its timeout killed and reaped.
"""

from __future__ import annotations

import os
import select
import signal
import time
from contextvars import ContextVar, Token

from omero_tui.core.usage.child import ChildPid

TIMEOUT = 10.0  # seconds: a hung systemd gives no answer rather than a hung console

# Python ignores these; a child must not inherit that (subprocess's restore_signals).
_RESTORED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)


class _Running:
    """A started ``systemctl show``: the process, our end of its stdout, its deadline."""

    def __init__(self, pid: int, stdout: int, deadline: float) -> None:
        self.process, self.stdout, self.deadline = ChildPid(pid), stdout, deadline

    def answer(self) -> tuple[int, bytes] | None:
        """(exit code, stdout); None when it gave none in time (it is then ended)."""
        chunks = []
        poller = select.poll()
        poller.register(self.stdout, select.POLLIN | select.POLLHUP)
        try:
            while True:
                if not poller.poll(max(0.0, self.deadline - time.monotonic()) * 1000):
                    return None
                chunk = os.read(self.stdout, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            # stdout closed: it is exiting, or hung after all
            code = self.process.wait(max(0.0, self.deadline - time.monotonic()))
            return None if code is None else (code, b"".join(chunks))
        finally:
            self.end()

    def end(self) -> None:
        """Killed (if still running) and reaped, our pipe end closed: no zombie, no fd."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.stdout >= 0:
            os.close(self.stdout)
            self.stdout = -1


_asked: ContextVar[dict[str, _Running] | None] = ContextVar(
    "omero_tui_systemctl_asked", default=None
)


class AskedEarly:
    """``with AskedEarly(name):`` starts ``systemctl show`` for ``name`` now; a
    ``fragment_path(name)`` inside the block reads that answer. An answer nobody read
    is not waited for: the command is killed and reaped when the block ends."""

    def __init__(self, name: str | None) -> None:
        self.name = name  # None: nothing to ask (the block does nothing)
        self._token: Token[dict[str, _Running] | None] | None = None

    def __enter__(self) -> AskedEarly:
        if self.name is None:
            return self
        try:
            running = _start(self.name)
        except OSError:
            return self  # fragment_path runs it again when asked, and fails the same way
        self._token = _asked.set({**(_asked.get() or {}), self.name: running})
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is None:
            return
        pending = (_asked.get() or {}).get(self.name or "")
        _asked.reset(self._token)
        if pending is not None:
            pending.end()


def fragment_path(name: str) -> str | None:
    """systemd's own answer (``systemctl show``), None when it gives none."""
    asked = _asked.get()
    running = asked.pop(name, None) if asked is not None else None
    if running is None:
        try:
            running = _start(name)
        except OSError:  # no systemctl here
            return None
    answer = running.answer()
    if answer is None:
        return None
    returncode, out = answer
    path = os.fsdecode(out).strip()
    return path if returncode == 0 and path and os.path.isfile(path) else None


def _start(name: str) -> _Running:
    if not hasattr(os, "posix_spawnp"):  # Windows: no systemd there either
        raise FileNotFoundError("systemctl: no posix_spawnp on this platform")
    argv = ["systemctl", "show", "--property=FragmentPath", "--value", name]
    reads, writes = os.pipe()  # both close-on-exec: the child keeps only its stdout
    try:
        pid = os.posix_spawnp(
            argv[0],
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, writes, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
            setsigdef=_RESTORED_SIGNALS,
        )
    except BaseException:
        os.close(reads)
        raise
    finally:
        os.close(writes)
    return _Running(pid, reads, time.monotonic() + TIMEOUT)
