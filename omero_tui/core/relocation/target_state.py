"""The target before the relocation touched it, and how to give exactly that back.

Rollback removes only what the engine created: entries that are still the copy of
the source entry of the same name (the target was empty before; an entry changed since,
say by a server started there, is kept), the copy's temporary names and its journal,
the ``.omero/repository/*/.lock`` files of a server the relocation started there, and
the parent directories the engine made (recorded before making them). Anything else
found there is left alone and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from typing import Any

from omero_tui.core.record import frozen
from omero_tui.core.relocation.copy_tree import TEMP_PREFIX
from omero_tui.core.relocation.journal import TARGET_JOURNAL_NAME, decode_bytes, encode_bytes
from omero_tui.core.relocation.preflight_target import IGNORED_IN_EMPTY_TARGET
from omero_tui.core.relocation.tree_scan import UNCOMPARED_XATTRS, read_xattrs


def describe_target(target: str) -> dict[str, Any]:
    """What the rollback must restore: whether it existed, its metadata, what it held."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return {"existed": False}
    return {
        "existed": True,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "atime_ns": st.st_atime_ns,
        "mtime_ns": st.st_mtime_ns,
        "names": sorted(os.listdir(target)) if stat.S_ISDIR(st.st_mode) else [],
        # Its ACLs among them: the copy gives the root the source's, a rollback these back.
        "xattrs": [[name, encode_bytes(value)] for name, value in read_xattrs(target)],
    }


def _names_digest(directory: str) -> str:
    names = "\0".join(sorted(os.listdir(directory)))
    return hashlib.sha256(names.encode("utf-8", "surrogateescape")).hexdigest()


def describe_parent(directory: str) -> dict[str, Any]:
    """A directory the move adds a name to (or takes one from): its times and listing."""
    try:
        st = os.stat(directory)
        return {
            "path": directory,
            "atime_ns": st.st_atime_ns,
            "mtime_ns": st.st_mtime_ns,
            "names_sha256": _names_digest(directory),
        }
    except OSError:
        return {"path": directory}


def restore_parent(before: dict[str, Any]) -> bool:
    """Give a parent back its times when its listing is again what it was; True if so.

    Only then: a name someone else added meanwhile keeps the time that shows it.
    """
    path = before.get("path")
    if not path or "mtime_ns" not in before:
        return False
    try:
        if _names_digest(path) != before.get("names_sha256"):
            return False
        os.utime(path, ns=(before["atime_ns"], before["mtime_ns"]))
    except OSError:
        return False
    return True


def directories_to_create(target: str, *, include_target: bool) -> list[str]:
    """Missing ancestors of ``target`` (and itself), outermost first."""
    missing = []
    current = target if include_target else os.path.dirname(target)
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing))


def restore_root(target: str, before: dict[str, Any]) -> None:
    """Give a pre-existing target directory back its owner, attributes (ACLs), mode and
    times (in that order: see ``metadata``)."""
    with contextlib.suppress(PermissionError):
        os.chown(target, before["uid"], before["gid"])
    if "xattrs" in before:  # journals written before #16 did not record them
        _restore_xattrs(target, {name: decode_bytes(value) for name, value in before["xattrs"]})
    os.chmod(target, before["mode"])
    os.utime(target, ns=(before["atime_ns"], before["mtime_ns"]))


def _restore_xattrs(path: str, wanted: dict[str, bytes]) -> None:
    have = dict(read_xattrs(path))
    for name in have.keys() - wanted.keys() - UNCOMPARED_XATTRS:
        os.removexattr(path, name)
    for name, value in wanted.items():
        if have.get(name) != value:
            os.setxattr(path, name, value)


_SERVER_LOCK = re.compile(r"(^|/)\.omero/repository/[^/]+/\.lock$")


@frozen
class Cleanup:
    removed: int
    left: tuple[str, ...]  # rel paths the engine did not create, kept
    why: tuple[str, ...] = ()  # one reason per entry of ``left``


NOT_IN_SOURCE = "not in the source: the relocation did not create it"
CHANGED_IN_TARGET = "changed in the target after it was copied (someone wrote there)"


def remove_copy(
    target: str,
    source: str,
    keep: tuple[str, ...] = IGNORED_IN_EMPTY_TARGET,
    *,
    server_may_have_run: bool = True,
) -> Cleanup:
    """Delete from ``target`` what the copy made there (see the module docstring).

    ``server_may_have_run`` False (the start step never began): a copy that differs from
    its source only because the source changed after it was copied (the source's inode
    changed later than the copy's) is the engine's own stale copy, and goes too.
    """
    removed = 0
    left: dict[str, str] = {}
    if not os.path.isdir(target):
        return Cleanup(0, ())
    for dirpath, dirnames, filenames in os.walk(target, topdown=False):
        rel_dir = os.path.relpath(dirpath, target)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in [
            *filenames,
            *[d for d in dirnames if os.path.islink(os.path.join(dirpath, d))],
        ]:
            rel = os.path.join(rel_dir, name)
            why = _why_kept(rel, name, target, source, keep, server_may_have_run)
            if why is None:
                os.unlink(os.path.join(dirpath, name))
                removed += 1
            elif why:
                left[rel] = why
        for name in dirnames:
            path = os.path.join(dirpath, name)
            rel = os.path.join(rel_dir, name)
            if os.path.islink(path) or not os.path.isdir(path):
                continue
            if _top(rel) in keep and not rel_dir:
                continue
            if os.path.isdir(os.path.join(source, rel)) and not os.listdir(path):
                os.rmdir(path)
                removed += 1
            elif not os.path.isdir(os.path.join(source, rel)):
                left[rel] = NOT_IN_SOURCE
    kept = sorted(left)
    return Cleanup(removed, tuple(kept), tuple(left[rel] for rel in kept))


def _top(rel: str) -> str:
    return rel.split(os.sep, 1)[0]


def _why_kept(
    rel: str,
    name: str,
    target: str,
    source: str,
    keep: tuple[str, ...],
    server_may_have_run: bool,
) -> str | None:
    """None: made by the copy, to be removed; "": there before, kept silently; else why
    it is kept."""
    if _top(rel) in keep:
        return ""
    if name.startswith(TEMP_PREFIX) or rel in (TARGET_JOURNAL_NAME, TARGET_JOURNAL_NAME + ".temp"):
        return None
    if name == ".lock" and _SERVER_LOCK.search(rel):
        return None  # left by the server the relocation started there (a crash keeps it)
    copied, original = os.path.join(target, rel), os.path.join(source, rel)
    if _still_the_copy(copied, original):
        return None
    try:
        got, want = os.lstat(copied), os.lstat(original)
    except FileNotFoundError:
        return NOT_IN_SOURCE
    same_kind = stat.S_IFMT(got.st_mode) == stat.S_IFMT(want.st_mode)
    if not server_may_have_run and same_kind and got.st_ctime_ns <= want.st_ctime_ns:
        return None  # the source changed after it was copied: a stale copy of ours
    return CHANGED_IN_TARGET


def _still_the_copy(copied: str, original: str) -> bool:
    """The entry is what the copy made of its source: same kind, size and modification
    time (the copy sets the source's), or the same symlink text. Anything else may hold
    what a server started on the new location wrote there: it is kept, and reported."""
    try:
        got, want = os.lstat(copied), os.lstat(original)
    except FileNotFoundError:
        return False
    if stat.S_IFMT(got.st_mode) != stat.S_IFMT(want.st_mode):
        return False
    if stat.S_ISLNK(got.st_mode):
        return os.readlink(copied) == os.readlink(original)
    if not stat.S_ISREG(got.st_mode) and not stat.S_ISDIR(got.st_mode):
        return got.st_rdev == want.st_rdev  # a fifo, socket or device node it recreated
    return stat.S_ISREG(got.st_mode) and (got.st_size, got.st_mtime_ns) == (
        want.st_size,
        want.st_mtime_ns,
    )
