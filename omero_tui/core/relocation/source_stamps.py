"""The late writer: the source must not change unseen between the stop proof and the
config switch.

The server is proven stopped, but another process (a backup agent, an import script,
an admin's editor) can still open a file of the old copy, append and close it after
that file was copied and compared. Switching config.xml to the copy would then lose
the append. So just before the comparison of the copy starts, every entry of the source
is stamped with (type and mode, size, mtime_ns, ctime_ns), and right before config.xml
is switched it is stamped again and compared. ctime, because a writer can set mtime
back (``touch -r``, ``rsync -t``) but not ctime; a directory's stamps change when a
name is added, removed or renamed in it.

The stamps are a gzip file next to the journal (NUL-separated: names may hold newlines),
so a resume after a kill compares with what the verification was made against, and
memory stays flat for millions of files.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from omero_tui.core.record import frozen
from omero_tui.core.relocation.progress import check_cancel

SUFFIX = ".source-stamps.gz"


def stamps_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.stem + SUFFIX)


def _records(root: str, cancel: threading.Event | None) -> Iterator[tuple[bytes, bytes]]:
    """(name, stamp) of every entry, depth first, names sorted: the same order each time."""
    stack = [""]
    while stack:
        check_cancel(cancel)
        rel = stack.pop()
        path = os.path.join(root, rel) if rel else root
        yield _record(rel, os.lstat(path))
        with os.scandir(path) as listing:
            children = sorted((e.name, e.stat(follow_symlinks=False)) for e in listing)
        subdirs = []
        for name, st in children:
            child = f"{rel}/{name}" if rel else name
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(child)
            else:
                yield _record(child, st)
        stack.extend(reversed(subdirs))


def _record(rel: str, st: os.stat_result) -> tuple[bytes, bytes]:
    size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
    stamp = f"{st.st_mode:o} {size} {st.st_mtime_ns} {st.st_ctime_ns}"
    return os.fsencode(rel), stamp.encode()


@frozen
class Stamped:
    path: str
    entries: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "entries": self.entries, "sha256": self.sha256}


def write_stamps(root: str, path: Path, cancel: threading.Event | None = None) -> Stamped:
    """Stamp every entry below ``root`` (and ``root``) into ``path``, durably."""
    temp = path.with_name(path.name + ".part")
    digest = hashlib.sha256()
    count = 0
    with open(temp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out:
            for name, stamp in _records(root, cancel):
                chunk = name + b"\0" + stamp + b"\0"
                digest.update(chunk)
                out.write(chunk)
                count += 1
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(temp, path)
    return Stamped(str(path), count, digest.hexdigest())


def usable(recorded: dict | None) -> bool:
    """The stamps file a journal fact names is there and whole."""
    if not recorded:
        return False
    digest = hashlib.sha256()
    try:
        with gzip.open(recorded["path"], "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError, KeyError, TypeError):
        return False
    return digest.hexdigest() == recorded.get("sha256")


def _read(path: str) -> Iterator[tuple[bytes, bytes]]:
    with gzip.open(path, "rb") as handle:
        buffer = b""
        while True:
            chunk = handle.read(1 << 20)
            fields = (buffer + chunk).split(b"\0")
            tail = fields.pop()  # not ended by a NUL yet
            whole = len(fields) - len(fields) % 2
            for i in range(0, whole, 2):
                yield fields[i], fields[i + 1]
            buffer = b"".join(f + b"\0" for f in fields[whole:]) + tail
            if not chunk:
                return


def first_change(root: str, recorded: dict, cancel: threading.Event | None = None) -> str | None:
    """None when the source is as stamped, else one line: which entry changed, and how."""
    then = _read(recorded["path"])
    for name, stamp in _records(root, cancel):
        old = next(then, None)
        if old is None:
            return f"{_shown(root, name)} appeared"
        if old[0] != name:
            return f"{_shown(root, old[0])} or {_shown(root, name)} was added, removed or renamed"
        if old[1] != stamp:
            return f"{_shown(root, name)} changed ({_how(old[1], stamp)})"
    extra = next(then, None)
    if extra is not None:
        return f"{_shown(root, extra[0])} was removed"
    return None


def _shown(root: str, name: bytes) -> str:
    rel = os.fsdecode(name)
    return os.path.join(root, rel) if rel else root


def _how(old: bytes, new: bytes) -> str:
    mode0, size0, mtime0, ctime0 = old.decode().split()
    mode1, size1, mtime1, ctime1 = new.decode().split()
    parts = []
    if mode0 != mode1:
        parts.append(f"mode {mode0} -> {mode1}")
    if size0 != size1:
        parts.append(f"size {size0} -> {size1} bytes")
    if mtime0 != mtime1:
        parts.append("modification time changed")
    if ctime0 != ctime1 and not parts:
        parts.append("inode changed (written, or its times set back)")
    return ", ".join(parts) or "changed"


def remove_stamps(journal_path: Path) -> None:
    path = stamps_path(journal_path)
    for leftover in (path, path.with_name(path.name + ".part")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)
