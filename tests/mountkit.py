"""A small tmpfs for tests that need another filesystem (root only, Linux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def mount_tmpfs(
    point: Path,
    options: str = "size=1m",
    *,
    make: bool = False,
    why: str = "mounting a tmpfs needs root on Linux",
) -> Path:
    """Mount a tmpfs at ``point`` (made first with ``make``); skip, saying why, when that
    cannot be done here."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        print(f"skipped: {why}")
        pytest.skip(why)
    if make:
        point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = f"mount refused here: {result.stderr.strip()}"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    return point


def unmount(point: Path, *, lazy: bool = False, check: bool = False) -> None:
    argv = ["umount", "-l", str(point)] if lazy else ["umount", str(point)]
    subprocess.run(argv, capture_output=True, check=check)
