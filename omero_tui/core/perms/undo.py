"""The undo record of a permission fix, and restoring from it.

Before the fix changes an entry, its owner, group, mode and ACLs (access and default,
as the raw xattr values) are appended to a JSON-lines file in the console's state dir
and fsync'ed; only then is the entry changed. So whatever stops a fix (a crash,
cancel, a full disk) the record covers every change made, and ``omero-tui perms
--undo`` puts back exactly what was there, in reverse order so an entry changed by two
steps ends in its first recorded state.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from omero_tui.core.perms.access import ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, parse_acl_xattr
from omero_tui.core.record import frozen
from omero_tui.core.settings import default_state_dir

RECORD_DIR = "perms-undo"
RECORD_FORMAT = 1
DONE_SUFFIX = ".undone"


@frozen
class EntryState:
    path: str
    uid: int
    gid: int
    mode: int  # st_mode & 0o7777
    acl: bytes | None  # system.posix_acl_access, None when absent
    default_acl: bytes | None  # system.posix_acl_default (directories), None when absent
    is_dir: bool

    def same_as(self, other: EntryState) -> bool:
        return (
            (self.uid, self.gid, self.mode) == (other.uid, other.gid, other.mode)
            and _acl_equal(self.acl, other.acl)
            and _acl_equal(self.default_acl, other.default_acl)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "before",
            "path": self.path,
            "uid": self.uid,
            "gid": self.gid,
            "mode": f"{self.mode:04o}",
            "acl": _b64(self.acl),
            "default_acl": _b64(self.default_acl),
            "is_dir": self.is_dir,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryState:
        return cls(
            data["path"],
            int(data["uid"]),
            int(data["gid"]),
            int(data["mode"], 8),
            _unb64(data.get("acl")),
            _unb64(data.get("default_acl")),
            bool(data.get("is_dir")),
        )


@frozen
class UndoProgress:
    done: int
    total: int
    current: str


@frozen
class UndoResult:
    record: str
    restored: int
    unchanged: int  # already as recorded
    missing: int  # deleted since the fix
    failed: tuple[tuple[str, str], ...]  # (path, error), the first 20
    failed_total: int
    cancelled: bool


class UndoError(Exception):
    """No record to undo, or one that cannot be read; ``str(err)`` is one line."""


def capture(path: str) -> EntryState:
    st = os.lstat(path)
    is_dir = stat.S_ISDIR(st.st_mode)
    return EntryState(
        path,
        st.st_uid,
        st.st_gid,
        stat.S_IMODE(st.st_mode),
        _xattr(path, ACL_ACCESS_XATTR),
        _xattr(path, ACL_DEFAULT_XATTR) if is_dir else None,
        is_dir,
    )


def set_state(path: str, want: EntryState, have: EntryState) -> None:
    """Owner first (chown may clear set-id bits), then ACLs (they set mode bits), mode last."""
    if (want.uid, want.gid) != (have.uid, have.gid):
        os.chown(path, want.uid, want.gid, follow_symlinks=False)
    if not _acl_equal(want.acl, have.acl):
        _set_xattr(path, ACL_ACCESS_XATTR, want.acl)
    if want.is_dir and not _acl_equal(want.default_acl, have.default_acl):
        _set_xattr(path, ACL_DEFAULT_XATTR, want.default_acl)
    if stat.S_IMODE(os.lstat(path).st_mode) != want.mode:
        os.chmod(path, want.mode, follow_symlinks=False)


def records_dir(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / RECORD_DIR


class UndoRecord:
    """An open record: ``add`` buffers, ``commit`` makes the buffer durable."""

    def __init__(self, state_dir: Path | None, header: dict[str, Any]) -> None:
        directory = records_dir(state_dir)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = directory / f"perms-fix-{stamp}.jsonl"
        self._out: TextIO = open(self.path, "x", encoding="utf-8")  # noqa: SIM115
        self._write({"kind": "header", "format": RECORD_FORMAT, "created": stamp, **header})
        self.commit()
        _fsync_dir(directory)  # the record's name survives a crash too, not only its bytes

    def _write(self, data: dict[str, Any]) -> None:
        self._out.write(json.dumps(data, ensure_ascii=False) + "\n")

    def add(self, before: EntryState) -> None:
        self._write(before.to_json())

    def commit(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())

    def close(self, status: str, **summary: Any) -> None:
        self._write({"kind": "end", "status": status, **summary})
        self.commit()
        self._out.close()


def latest_record(state_dir: Path | None = None) -> Path | None:
    """The newest record not yet undone."""
    directory = records_dir(state_dir)
    if not directory.is_dir():
        return None
    candidates = sorted(
        p for p in directory.glob("perms-fix-*.jsonl") if not p.stem.endswith(DONE_SUFFIX)
    )
    return candidates[-1] if candidates else None


def read_record(path: Path) -> tuple[dict[str, Any], list[EntryState]]:
    header: dict[str, Any] = {}
    states = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise UndoError(f"cannot read the undo record {path}: {err.strerror}") from err
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
        except ValueError:
            if number == len(lines):
                break  # a last line cut short by a crash: everything before it is whole
            raise UndoError(f"undo record {path} line {number} is not JSON") from None
        if data.get("kind") == "header":
            header = data
        elif data.get("kind") == "before":
            states.append(EntryState.from_json(data))
    if header.get("format") != RECORD_FORMAT:
        raise UndoError(f"{path} is not an omero-tui permission undo record")
    return header, states


def undo_last(
    state_dir: Path | None = None,
    *,
    progress: Callable[[UndoProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> UndoResult:
    record = latest_record(state_dir)
    if record is None:
        raise UndoError(f"no permission fix to undo in {records_dir(state_dir)}")
    _, states = read_record(record)
    restored = unchanged = missing = 0
    failed: list[tuple[str, str]] = []
    failed_total = 0
    last_report = 0.0
    cancelled = False
    for done, want in enumerate(reversed(states), 1):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        try:
            have = capture(want.path)
            if have.same_as(want):
                unchanged += 1
            else:
                set_state(want.path, want, have)
                restored += 1
        except FileNotFoundError:
            missing += 1
        except OSError as err:
            failed_total += 1
            if len(failed) < 20:
                failed.append((want.path, err.strerror or str(err)))
        now = time.monotonic()
        if progress is not None and (now - last_report >= 0.1 or done == len(states)):
            last_report = now
            progress(UndoProgress(done, len(states), want.path))
    if not cancelled and not failed_total:
        # Kept, renamed: the admin can still read what was changed and restored.
        record.rename(record.with_name(record.stem + DONE_SUFFIX + record.suffix))
    return UndoResult(
        str(record), restored, unchanged, missing, tuple(failed), failed_total, cancelled
    )


def iter_tree(top: str, recursive: bool) -> Iterator[str]:
    """``top`` then (when recursive) everything below, parents before children, no symlinks."""
    yield top
    if not recursive or os.path.islink(top) or not os.path.isdir(top):
        return
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        for entry in children:
            yield entry.path
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open a directory; its rename and create are journaled
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as err:
        if err.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            return None
        raise


def _set_xattr(path: str, name: str, value: bytes | None) -> None:
    if value is None:
        try:
            os.removexattr(path, name, follow_symlinks=False)
        except OSError as err:
            if err.errno != errno.ENODATA:
                raise
    else:
        os.setxattr(path, name, value, follow_symlinks=False)


def _acl_equal(a: bytes | None, b: bytes | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return sorted(parse_acl_xattr(a), key=repr) == sorted(parse_acl_xattr(b), key=repr)
    except ValueError:
        return a == b


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
