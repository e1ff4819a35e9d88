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


class LoopMount:
    """A small filesystem image in a temp dir, made with ``mkfs`` and loop-mounted (root).

    ``close()`` unmounts it and detaches the loop device; fixtures call it in their
    finalizer, so a failing test leaves neither behind.
    """

    def __init__(self, image: Path, point: Path) -> None:
        self.image = image
        self.point = point
        self.device: str | None = None
        self.mounted = False

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.point)], capture_output=True, check=False)
            self.mounted = False
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True, check=False)
            self.device = None
        self.image.unlink(missing_ok=True)


def loop_mount(
    where: Path, mkfs: list[str], *, size_mib: int, name: str = "fs", options: str = ""
) -> LoopMount:
    """``mkfs`` (an argv without the image) run on a sparse image of ``size_mib`` MiB in
    ``where``, attached to a loop device and mounted at ``where/name``. Skips, saying why,
    when not root or a tool is missing; the caller closes it (in a finalizer)."""
    tools = [mkfs[0], "losetup", "mount", "umount"]
    missing = [t for t in tools if shutil.which(t) is None]
    why = None
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        why = f"a loop-mounted {mkfs[0]} filesystem needs root on Linux"
    elif missing:
        why = f"{missing[0]} is not installed (.ci/run installs e2fsprogs and xfsprogs)"
    if why:
        print(f"skipped: {why}")
        pytest.skip(why)
    image = where / f"{name}.img"
    point = where / name
    point.mkdir(parents=True, exist_ok=True)
    with image.open("wb") as out:
        out.truncate(size_mib << 20)
    mount = LoopMount(image, point)
    try:
        made = subprocess.run([*mkfs, str(image)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            raise RuntimeError(f"{' '.join(mkfs)} failed: {made.stderr.strip()}")
        attached = subprocess.run(
            ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=False
        )
        if attached.returncode != 0:
            reason = f"no loop device here: {attached.stderr.strip()}"
            print(f"skipped: {reason}")
            pytest.skip(reason)
        mount.device = attached.stdout.strip()
        argv = ["mount", *(["-o", options] if options else []), mount.device, str(point)]
        mounted = subprocess.run(argv, capture_output=True, text=True, check=False)
        if mounted.returncode != 0:
            reason = f"mounting {mkfs[0]} refused here: {mounted.stderr.strip()}"
            print(f"skipped: {reason}")
            pytest.skip(reason)
        mount.mounted = True
    except BaseException:
        mount.close()
        raise
    return mount
