"""The real ``omero-tui`` CLI, frozen (SIGSTOP) at a chosen file-system operation.

``python -m tests.faults.paused_cli --marker FILE [--phase STEP --index J] -- ARGS...``
runs ``omero_tui.cli.main(ARGS)`` unchanged in this process, with a Python audit hook
that sees every operation that changes something (a file opened for writing, rename,
link, symlink, unlink, mkdir, rmdir, chmod, chown, utime, truncate, xattrs, flock, a
subprocess started, a signal sent). With ``--phase STEP --index J`` it stops itself
at the J-th such operation after the journal recorded STEP as started (``--phase
start-of-run`` counts from the beginning), right *before* that operation happens, and
writes what it was about to do to the marker file. The harness then SIGKILLs it: a kill
at an exact point, in phases far too short to hit with a timer (the config rewrite
takes milliseconds). Without ``--phase`` it only counts, and the marker file gets the
number of operations per step (the reference run that sizes the ranges).

The journal is observed (``Journal.append`` wrapped, nothing changed in what it does) so
the hook knows the step; nothing the engine does is altered, only paused.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGING = frozenset(
    {
        "os.rename",
        "os.link",
        "os.symlink",
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.utime",
        "os.truncate",
        "os.setxattr",
        "os.removexattr",
        "fcntl.flock",
        "fcntl.lockf",
        "subprocess.Popen",
        "os.kill",
        "os.killpg",
        "shutil.rmtree",
        "shutil.move",
    }
)
START = "start-of-run"


class Tracker:
    def __init__(self, marker: str, phase: str | None, index: int) -> None:
        self.fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.phase = phase
        self.index = index
        self.step = "preflight"  # before the journal's first step record
        self.armed = phase == START
        self.paused = False
        self.seen = 0
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # how long each step took (timer trials)
        self.since = time.monotonic()
        self.lock = threading.Lock()
        self.local = threading.local()

    def on_step(self, step: str, state: str) -> None:
        with self.lock:
            if state == "started":
                now = time.monotonic()
                self.seconds[self.step] += now - self.since
                self.since = now
                self.step = step
                if step == self.phase and not self.armed:
                    self.armed = True
                    self.seen = 0

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if getattr(self.local, "busy", False) or not _changing(event, args):
            return
        self.local.busy = True
        try:
            with self.lock:
                self.counts[self.step] += 1
                hit = self.armed and self.seen == self.index
                self.seen += 1
                if hit:
                    self.armed = False
                    self.paused = True
            if hit:
                what = {"event": event, "args": _short(args), "step": self.step}
                os.write(self.fd, (json.dumps(what) + "\n").encode())
                os.kill(os.getpid(), signal.SIGSTOP)  # the harness SIGKILLs us here
        finally:
            self.local.busy = False

    def finish(self) -> None:
        if self.paused:
            return  # paused once already (and continued by someone: say nothing more)
        self.seconds[self.step] += time.monotonic() - self.since
        seconds = {k: round(v, 3) for k, v in self.seconds.items()}
        os.write(
            self.fd, (json.dumps({"counts": dict(self.counts), "seconds": seconds}) + "\n").encode()
        )


def _changing(event: str, args: tuple[Any, ...]) -> bool:
    if event == "open":
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        return bool(flags & WRITE_FLAGS) or any(c in mode for c in "wax+")
    return event in CHANGING


def _short(args: tuple[Any, ...]) -> list[str]:
    return [repr(a)[:200] for a in args[:3]]


def main() -> int:
    parser = argparse.ArgumentParser(prog="paused_cli")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--phase")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    tracker = Tracker(opts.marker, opts.phase, opts.index)

    from omero_tui.cli import main as cli_main
    from omero_tui.core.relocation import journal

    original = journal.Journal.append

    def append(self: journal.Journal, record: dict[str, Any]) -> dict[str, Any]:
        written = original(self, record)
        if record.get("type") == "step":
            tracker.on_step(str(record.get("step")), str(record.get("state")))
        return written

    journal.Journal.append = append  # type: ignore[method-assign]
    sys.addaudithook(tracker.hook)
    try:
        return cli_main(args)
    finally:
        tracker.finish()


if __name__ == "__main__":
    sys.exit(main())
