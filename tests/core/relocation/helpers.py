"""Helpers for the relocation tests: real tmpfs mounts and whole-tree snapshots."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from omero_tui.core.relocation.file_copy import data_segments
from tests import mountkit

REPO = Path(__file__).resolve().parents[3]


def mount_tmpfs(path: Path, options: str = "size=256m") -> None:
    """Mount a tmpfs at ``path``, the other filesystem a copy crosses to (root only)."""
    mountkit.mount_tmpfs(
        path,
        options,
        make=True,
        why="mounting a tmpfs (the other filesystem) needs root; run the tests as root",
    )


def unmount(path: Path) -> None:
    mountkit.unmount(path, lazy=True)


def _listing(path: Path) -> list[str]:
    """Names in a directory, listed without touching its atime (as root or owner)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOATIME", 0)
    fd = os.open(path, flags)
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def snapshot(root: Path, *, atimes: bool = False, skip: tuple[str, ...] = ()) -> dict:
    """Everything the relocation promises to keep, per relative path.

    It reads nothing in a way that changes an atime, so taking one changes nothing.
    """
    found: dict[str, tuple] = {}
    inode_names: dict[tuple[int, int], str] = {}
    pending = [Path(root)]
    while pending:
        directory = pending.pop()
        for name in _listing(directory):
            path = directory / name
            rel = str(path.relative_to(root))
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                continue
            st = path.lstat()
            kind = stat.S_IFMT(st.st_mode)
            extra: object = None
            if stat.S_ISREG(kind):
                first = inode_names.setdefault((st.st_dev, st.st_ino), rel)
                extra = ("linked to", first) if first != rel else _digest(path)
            elif stat.S_ISLNK(kind):
                extra = os.readlink(path)
            elif stat.S_ISDIR(kind):
                pending.append(path)
            xattrs = {}
            if not stat.S_ISLNK(kind):
                for attr in os.listxattr(path, follow_symlinks=False):
                    xattrs[attr] = os.getxattr(path, attr, follow_symlinks=False)
            # A symlink's atime changes whenever its text is read (readlink), and Linux has
            # no O_NOATIME for that: link access times are not compared.
            keep_atime = atimes and not stat.S_ISLNK(kind)
            times = (st.st_mtime_ns, st.st_atime_ns) if keep_atime else (st.st_mtime_ns,)
            found[rel] = (
                kind,
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_size if not stat.S_ISDIR(kind) else 0,
                times,
                extra,
                tuple(sorted(xattrs.items())),
            )
    root_st = root.stat()
    found["."] = (
        stat.S_IMODE(root_st.st_mode),
        root_st.st_uid,
        root_st.st_gid,
        root_st.st_mtime_ns,
    )
    return found


def _digest(path: Path) -> str:
    """A hash of the data and where it sits: a hole filled with zeros hashes differently.

    Read without touching the file's atime (as root or owner).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    try:
        size = os.fstat(fd).st_size
        digest = hashlib.sha256(str(size).encode())
        for start, end in data_segments(fd, size):
            digest.update(f"@{start}".encode())
            pos = start
            while pos < end:
                chunk = os.pread(fd, min(end - pos, 1 << 20), pos)
                if not chunk:
                    break
                digest.update(chunk)
                pos += len(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m omero_tui ARGS`` as a real process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def with_ram_accepted(args: Sequence[str]) -> list[str]:
    """``relocate --to X`` onto the tmpfs these tests cross to: the words that accept a
    target whose data is lost at reboot (the CLI refuses it otherwise)."""
    args = list(args)
    return [*args, "--lost-at-reboot"] if "--to" in args and "--dry-run" not in args else args
