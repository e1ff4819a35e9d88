"""The active lock probe: do flock and fcntl locks really exclude between two processes?

For each directory it creates one uniquely named hidden probe file
(``.omero-tui-lockprobe-<pid>-<random>``), never touching OMERO's own files, and
drives two separate processes (``lock_probe_child``) that each open that file
themselves: a *holder* and a *contender*. The holder takes an exclusive lock and the
contender must be refused, for both a shared and an exclusive request; after the
holder releases, the contender must get it within a bound; two shared locks must
coexist. That is done for ``flock`` (portalocker, OMERO's Python servers) and POSIX
``fcntl`` records (Java, Lucene). A write probe does what the server does when it
writes a file: create, fsync, rename, delete.

Even the holder side runs in a child: a lock call on a dead NFS server hangs in the
kernel, and the console must stay able to answer, time the step out and kill it.

Blind spot, stated in every report on a network share: both processes run on this
host, so the probe cannot prove that locks hold between two clients of the share.
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from omero_tui.core.locks.probe_child import REFUSED
from omero_tui.core.locks.probe_model import (
    DEFAULT_TIMEOUTS,
    HANDOFF,
    HOLDER_TAKES,
    KINDS,
    REFUSED_EX,
    REFUSED_SH,
    SHARED,
    DirectoryProbe,
    KindProbe,
    ProbeProgress,
    ProbeStep,
    ProbeTimeouts,
)
from omero_tui.core.locks.probe_process import ProbeChild, ProbeHang, ProbeLost, ProbePair
from omero_tui.core.record import field, mutable

PROBE_PREFIX = ".omero-tui-lockprobe-"
CHILD_MODULE = "omero_tui.core.locks.probe_child"
PROGRESS_INTERVAL_S = 0.1  # at most ~10 progress reports a second


class ProbeCancelled(Exception):
    pass


def default_child_command() -> list[str]:
    return [sys.executable, "-m", CHILD_MODULE]


def run(
    directories: Sequence[str],
    progress: Callable[[ProbeProgress], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    timeouts: ProbeTimeouts = DEFAULT_TIMEOUTS,
    child_command: Sequence[str] | None = None,
) -> tuple[DirectoryProbe, ...]:
    """Probe each directory in turn; cancelling leaves no probe file and no child behind."""
    cancel = cancel or threading.Event()
    command = list(child_command or default_child_command())
    report = _Throttle(progress, len(directories))
    results: list[DirectoryProbe] = []
    pair = ProbePair(command, timeouts)
    try:
        for index, path in enumerate(directories):
            if cancel.is_set():
                results.append(DirectoryProbe(path, cancelled=True))
                continue
            report(index, path, "starting")
            results.append(
                probe_directory(
                    path,
                    pair,
                    timeouts,
                    cancel,
                    lambda step, i=index, p=path: report(i, p, step),
                )
            )
    finally:
        pair.close()
    report(len(directories), "", "cancelled" if cancel.is_set() else "done", final=True)
    return tuple(results)


def probe_directory(
    path: str,
    pair: ProbePair,
    timeouts: ProbeTimeouts,
    cancel: threading.Event,
    step: Callable[[str], None] = lambda _s: None,
) -> DirectoryProbe:
    if os.name != "posix":
        return DirectoryProbe(path, error="the lock probe needs flock/fcntl (a POSIX system)")
    session = _Session(path)
    try:
        _run_steps(session, pair, timeouts, cancel, step)
    except ProbeHang as hang:
        if isinstance(hang, _KindHang):
            session.kinds.append(hang.partial)
        session.hung = True
        session.hang_detail = str(hang)
        pair.kill()
    except ProbeLost as lost:
        session.error = str(lost)
        pair.kill()
    except ProbeCancelled:
        session.cancelled = True
    except OSError as err:  # the children could not be started at all
        session.error = f"cannot start the probe process: {err.strerror or err}"
        pair.kill()
    finally:
        if session.made:
            session.leftover = pair.remove(session.made)
    return session.result()


def _run_steps(
    session: _Session,
    pair: ProbePair,
    timeouts: ProbeTimeouts,
    cancel: threading.Event,
    step: Callable[[str], None],
) -> None:
    # The children run in "/": a relative path would make them probe another directory.
    path = os.path.abspath(session.path)
    name = f"{PROBE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    lock_file = os.path.join(path, name)
    holder, contender = pair.start()
    step("write probe")
    # Until it answers, the write probe's files may exist; once it has answered the
    # child has removed them itself, whatever happened.
    session.made = [f"{lock_file}-w.tmp", f"{lock_file}-w"]
    answer = holder.request({"op": "write_probe", "directory": path, "name": f"{name}-w"})
    left = [str(p) for p in answer.get("left") or ()]  # the child's clean-up failed: retry
    session.made = left
    session.write = _write_step(answer)
    _check(cancel)
    session.made = [*left, lock_file]
    created = holder.request({"op": "create", "path": lock_file})
    if not created["ok"]:
        session.made = left
        session.error = f"cannot create the probe file: {_errno_text(created)}"
        return
    for who in (holder, contender):
        opened = who.request({"op": "open", "path": lock_file})
        if not opened["ok"]:
            session.error = f"cannot open the probe file: {_errno_text(opened)}"
            return
    for kind in KINDS:
        step(f"{kind} locks")
        session.kinds.append(_probe_kind(kind, holder, contender, timeouts, cancel))
    if all(k.steps and k.steps[0].passed for k in session.kinds):
        step("flock/fcntl interplay")
        session.flock_emulated = _flock_blocks_fcntl(holder, contender)


@mutable
class _Session:
    path: str
    kinds: list[KindProbe] = field(default_factory=list)
    write: ProbeStep | None = None
    flock_emulated: bool | None = None
    error: str | None = None
    hung: bool = False
    hang_detail: str = ""
    cancelled: bool = False
    leftover: tuple[str, ...] = ()
    made: list[str] = field(default_factory=list)  # probe files that may exist right now

    def result(self) -> DirectoryProbe:
        error = self.error
        if self.hung and error is None:
            error = self.hang_detail
        return DirectoryProbe(
            self.path,
            tuple(self.kinds),
            self.write,
            self.flock_emulated,
            error,
            self.hung,
            self.cancelled,
            self.leftover,
            os.geteuid() if hasattr(os, "geteuid") else None,
        )


def _probe_kind(
    kind: str,
    holder: ProbeChild,
    contender: ProbeChild,
    timeouts: ProbeTimeouts,
    cancel: threading.Event,
) -> KindProbe:
    steps: list[ProbeStep] = []

    def done() -> KindProbe:
        return KindProbe(kind, tuple(steps))

    try:
        taken = holder.request(_lock(kind, "ex"))
        steps.append(_expect_ok(HOLDER_TAKES, taken, "took it"))
        if not taken["ok"]:
            return done()
        _check(cancel)
        for name, mode in ((REFUSED_EX, "ex"), (REFUSED_SH, "sh")):
            answer = contender.request(_lock(kind, mode))
            steps.append(_expect_refused(name, answer))
            if answer["ok"]:  # broken exclusion: give the lock back before going on
                contender.request({"op": "unlock", "kind": kind})
        _check(cancel)
        # The second process must be waiting when the first lets go: the step then
        # measures how long a release takes to reach another process.
        contender.send(_lock(kind, "ex", timeouts.handoff_s))
        first = contender.receive(timeouts.step_s, "lock")
        if first.get("waiting"):
            released = holder.request({"op": "unlock", "kind": kind})
            handed = contender.receive(timeouts.handoff_s + timeouts.step_s, "lock")
            steps.append(_handoff_step(handed, released, timeouts.handoff_s))
        else:  # it never had to wait: it got the held lock, or the call failed
            holder.request({"op": "unlock", "kind": kind})
            handed = first
            steps.append(_held_handoff_step(first))
        if handed["ok"]:
            contender.request({"op": "unlock", "kind": kind})
        _check(cancel)
        mine = holder.request(_lock(kind, "sh"))
        theirs = contender.request(_lock(kind, "sh"))
        steps.append(_shared_step(mine, theirs))
        for who, answer in ((holder, mine), (contender, theirs)):
            if answer["ok"]:
                who.request({"op": "unlock", "kind": kind})
    except ProbeHang as hang:
        steps.append(ProbeStep(_next_step_name(steps), False, f"hung: {hang}"))
        raise _KindHang(done(), str(hang)) from hang
    return done()


class _KindHang(ProbeHang):
    """A hang inside one kind's steps, carrying the steps done so far."""

    def __init__(self, partial: KindProbe, detail: str) -> None:
        super().__init__(detail)
        self.partial = partial


def _next_step_name(steps: list[ProbeStep]) -> str:
    order = (HOLDER_TAKES, REFUSED_EX, REFUSED_SH, HANDOFF, SHARED)
    return order[min(len(steps), len(order) - 1)]


def _flock_blocks_fcntl(holder: ProbeChild, contender: ProbeChild) -> bool | None:
    """True when a flock held in one process blocks an fcntl lock in another (NFS-like)."""
    held = holder.request(_lock("flock", "ex"))
    if not held["ok"]:
        return None
    try:
        answer = contender.request(_lock("fcntl", "ex"))
        if answer["ok"]:
            contender.request({"op": "unlock", "kind": "fcntl"})
            return False
        return True if answer.get("errno") in REFUSED else None
    finally:
        holder.request({"op": "unlock", "kind": "flock"})


def _lock(kind: str, mode: str, wait: float = 0.0) -> dict[str, Any]:
    return {"op": "lock", "kind": kind, "mode": mode, "wait": wait}


def _expect_ok(name: str, answer: dict[str, Any], words: str) -> ProbeStep:
    if answer["ok"]:
        return ProbeStep(name, True, f"{words} in {_ms_text(answer)}", answer.get("ms"))
    return _failed(name, answer)


def _expect_refused(name: str, answer: dict[str, Any]) -> ProbeStep:
    if answer["ok"]:
        return ProbeStep(
            name, False, "got the lock the first process holds: locks do not exclude", answer["ms"]
        )
    if answer.get("errno") in REFUSED:
        code = _errno_name(answer.get("errno"))
        return ProbeStep(name, True, f"refused ({code}) in {_ms_text(answer)}", answer.get("ms"))
    return _failed(name, answer)


def _handoff_step(answer: dict[str, Any], released: dict[str, Any], bound: float) -> ProbeStep:
    if answer["ok"] and released["ok"]:
        # The release happened somewhere between the unlock call's start and its return;
        # measuring from the start never calls a healthy hand-over early (the figure
        # includes the unlock call itself, a few microseconds).
        ms = round((answer["at"] - released["began"]) * 1000.0, 3)
        if ms < 0:
            return ProbeStep(HANDOFF, False, "got the lock before the first process released it")
        return ProbeStep(HANDOFF, True, f"got it {_ms_text({'ms': ms})} after release", ms)
    if not released["ok"]:
        return _failed(HANDOFF, released)
    if answer.get("errno") in REFUSED:
        return ProbeStep(
            HANDOFF, False, f"still refused {bound:g} s after release: the release was not seen",
            answer.get("ms"), _errno_name(answer.get("errno")),
        )  # fmt: skip
    return _failed(HANDOFF, answer)


def _held_handoff_step(answer: dict[str, Any]) -> ProbeStep:
    if answer["ok"]:
        return ProbeStep(
            HANDOFF, False, "got the lock while the first process still held it", answer.get("ms")
        )
    return _failed(HANDOFF, answer)


def _shared_step(first: dict[str, Any], second: dict[str, Any]) -> ProbeStep:
    if first["ok"] and second["ok"]:
        return ProbeStep(SHARED, True, f"both held in {_ms_text(second)}", second.get("ms"))
    if first["ok"] and second.get("errno") in REFUSED:
        return ProbeStep(SHARED, False, "a shared lock refused a second shared lock", second["ms"])
    return _failed(SHARED, first if not first["ok"] else second)


def _write_step(answer: dict[str, Any]) -> ProbeStep:
    name = "write probe (create, fsync, rename, delete)"
    if answer["ok"]:
        return ProbeStep(name, True, f"done in {_ms_text(answer)}", answer.get("ms"))
    phase = answer.get("phase", "write")
    return ProbeStep(
        name,
        False,
        f"{phase} failed: {_errno_text(answer)}",
        answer.get("ms"),
        _errno_name(answer.get("errno")),
    )


def _failed(name: str, answer: dict[str, Any]) -> ProbeStep:
    return ProbeStep(
        name, False, f"failed: {_errno_text(answer)}", answer.get("ms"),
        _errno_name(answer.get("errno")),
    )  # fmt: skip


def _errno_name(number: int | None) -> str | None:
    return None if number is None else errno.errorcode.get(number, str(number))


def _errno_text(answer: dict[str, Any]) -> str:
    name = _errno_name(answer.get("errno"))
    error = answer.get("error") or "unknown error"
    return f"{name} ({error})" if name else error


def _ms_text(answer: dict[str, Any]) -> str:
    ms = answer.get("ms")
    return "?" if ms is None else f"{ms:.3g} ms"


def _check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise ProbeCancelled


class _Throttle:
    def __init__(self, progress: Callable[[ProbeProgress], None] | None, total: int) -> None:
        self.progress, self.total = progress, total
        self.last = float("-inf")

    def __call__(self, done: int, path: str, step: str, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not final and now - self.last < PROGRESS_INTERVAL_S):
            return
        self.last = now
        self.progress(ProbeProgress(done, self.total, path, step))
