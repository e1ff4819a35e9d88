"""A child process known only by its pid: what this program starts without Popen.

The usage scan's forked workers (``pool``) and ``systemctl show`` started with
``posix_spawnp`` (``config.systemctl_show``) are waited for, polled and killed the same
way: ``ChildPid`` gives them the part of Popen's interface they use. Its exit is waited
for on a pidfd, which wakes at the exit itself; without one, in short naps.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time


class ChildPid:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: Popen takes that as 0
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code; None when ``timeout`` passed first (Popen raises instead)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                return None
            until_exit(self.pid, left)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def until_exit(pid: int, seconds: float) -> None:
    """Sleep until the child ``pid`` exits or ``seconds`` pass. A pidfd wakes at the exit
    itself (a worker at the end of its input exits within a millisecond, and every
    headless command waits for its workers); without one, a short nap."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        time.sleep(min(seconds, 0.001))
        return
    try:
        select.select([fd], [], [], seconds)
    finally:
        os.close(fd)
