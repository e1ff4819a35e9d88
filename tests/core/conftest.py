"""Fixtures shared by the core's tests of live processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SLEEP = "import time; time.sleep(60)"


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a sleeping Python with the given argv[0] and arguments; always stopped."""
    started: list[subprocess.Popen] = []

    def start(argv0: str, *args: str, cwd: Path | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            [argv0, "-c", SLEEP, *args],
            executable=sys.executable,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        _wait_for_exec(proc.pid)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def _wait_for_exec(pid: int) -> None:
    """Until the process shows its own command line. Popen returns once the exec has
    passed its point of no return, a moment before the kernel sets up the new argv: a
    scan of /proc in between reads an empty command line (seen on a loaded machine)."""
    deadline = time.monotonic() + 10
    while sys.platform.startswith("linux") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if SLEEP.encode() in handle.read():
                    return
        except OSError:
            return
        time.sleep(0.001)
