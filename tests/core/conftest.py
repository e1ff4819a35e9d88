"""Fixtures shared by the core's tests of live processes."""

from __future__ import annotations

import subprocess
import sys
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
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)
