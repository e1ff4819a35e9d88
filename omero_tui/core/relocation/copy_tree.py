"""The cross-filesystem copy of a repository: everything kept, resumable, cancellable.

Kept: hidden entries (``.omero``!), directories, regular files (data copied in the
kernel, holes kept), symlinks as symlinks, hard links as hard links, owners (as root),
modes, extended attributes and ACLs where the target takes them, and nanosecond times
(directories' last, after their contents). Fifos, sockets and devices are made again
(``mknod``; devices need root, which the preflight checks). A name someone else put in
the target meanwhile is never replaced: the copy stops and names it. Each file is
written under a temporary name (``.omero-tui-part-<n>``) and renamed into place, so a
name from the source never holds half a file.

Entries go in the scan's fixed order and are committed in batches: a batch is synced,
compared byte for byte (see ``file_copy``) and only then recorded by ``on_batch``. A
resume starts at the first entry after the last recorded batch; nothing recorded is
copied again. Cancelling stops after the entry being copied, commits what is done and
raises ``Cancelled``: the journal then says exactly where to resume.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import threading
import time
from collections.abc import Callable

from omero_tui.core.findings import counted
from omero_tui.core.record import frozen
from omero_tui.core.relocation.batch_verifier import Batch, BatchVerifier, Committed
from omero_tui.core.relocation.file_copy import CLOEXEC, NOFOLLOW, Copier, open_for_read
from omero_tui.core.relocation.metadata import MetadataCopier
from omero_tui.core.relocation.progress import Cancelled, Progress, Reporter
from omero_tui.core.relocation.sync import syncfs
from omero_tui.core.relocation.tree_scan import Entry, TreeScan, open_dir

TEMP_PREFIX = ".omero-tui-part-"
# Test-only hooks (never set in production): smaller batches and a pause after each
# recorded batch, so a test can SIGKILL the engine at a chosen point of the copy.
TESTONLY_BATCH_FILES_ENV = "OMERO_TUI_TESTONLY_COPY_BATCH_FILES"
TESTONLY_PAUSE_ENV = "OMERO_TUI_TESTONLY_COPY_PAUSE_S"


@frozen
class BatchLimits:
    """A batch closes at whichever comes first (one syncfs and journal record each)."""

    entries: int = 4000
    data_bytes: int = 64 << 20  # small enough for the verifier to keep pace with the copy
    seconds: float = 2.0


@frozen
class CopyResult:
    entries_copied: int  # this run (a resume counts only what it did)
    data_bytes: int
    specials_made: int  # fifos, sockets and device nodes made again
    metadata_dropped: tuple[str, ...]  # one line per attribute kind the target refused
    method: str  # the kernel call that moved the data


def limits_from_env(default: BatchLimits) -> BatchLimits:
    value = os.environ.get(TESTONLY_BATCH_FILES_ENV)
    if value and value.isdigit() and int(value) > 0:
        return BatchLimits(int(value), default.data_bytes, default.seconds)
    return default


def _pause_after_batch() -> float:
    try:
        return max(0.0, float(os.environ.get(TESTONLY_PAUSE_ENV, "0")))
    except ValueError:
        return 0.0


def make_directories(scan: TreeScan, target: str) -> None:
    """Every directory, owner-writable for now (its real mode comes with its times)."""
    for entry in scan.entries[1:]:
        if entry.kind != "dir":
            continue
        path = os.path.join(target, entry.rel)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path) or os.path.islink(path):
                raise FileExistsError(errno.EEXIST, "exists and is not a directory", path) from None


def copy_entries(
    scan: TreeScan,
    target: str,
    *,
    start: int = 0,
    on_batch: Callable[[Committed], None],
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    limits: BatchLimits = BatchLimits(),  # noqa: B008 - frozen
    metadata: MetadataCopier | None = None,
) -> CopyResult:
    """Copy entries ``start:`` of ``scan`` into ``target`` (directories must exist)."""
    limits = limits_from_env(limits)
    pause = _pause_after_batch()
    meta = metadata or MetadataCopier()
    copier = Copier()
    todo = [(i, e) for i, e in enumerate(scan.entries) if i >= start and e.kind not in ("dir",)]
    done_bytes = sum(e.data_bytes for e in scan.entries[:start])
    report = Reporter(
        progress,
        "copy",
        bytes_total=scan.data_bytes,
        files_total=scan.copied_entries(),
    )
    report.base_bytes = done_bytes
    done_before = sum(1 for e in scan.entries[:start] if e.kind in ("file", "hardlink", "symlink"))
    state = {"copied": done_before, "bytes": done_bytes}

    def committed(batch: Committed) -> None:
        on_batch(batch)
        if pause:
            time.sleep(pause)

    verifier = BatchVerifier(scan.root, target, committed)
    batch = Batch(first=start)
    copied_now = specials = 0
    total = scan.copied_entries()
    of_total = counted(total, "file or symlink", "files and symlinks")
    dirs = _DirPair(scan.root, target)
    ok = False
    try:
        for index, entry in todo:
            if cancel is not None and cancel.is_set():
                break
            parent, _, name = entry.rel.rpartition("/")
            src_dir, dst_dir = dirs.at(parent)
            _copy_one(dirs, src_dir, dst_dir, name, index, entry, copier, meta)
            size = entry.data_bytes
            batch.entries.append((f"{target}/{entry.rel}", entry))
            batch.data_bytes += size
            batch.upto = index + 1
            copied_now += 1
            if entry.kind == "special":
                specials += 1
            else:
                state["copied"] += 1
            state["bytes"] += size
            if copied_now % 32 == 0 or size > 1 << 20:  # the reporter throttles anyway
                report(
                    f"copied {state['copied']:,} of {of_total}, "
                    f"verified {done_before + verifier.verified_entries:,}",
                    state["bytes"],
                    state["copied"],
                )
            if _full(batch, limits):
                verifier.submit(batch)
                batch = Batch(first=batch.upto)
        else:
            batch.upto = len(scan.entries)
        if batch.entries or batch.upto > batch.first:
            verifier.submit(batch)
        ok = True
    finally:
        dirs.close()
        if ok:
            verifier.close()
        else:
            verifier.abort()  # the error in flight is the one to report
    if cancel is not None and cancel.is_set() and batch.upto < len(scan.entries):
        raise Cancelled("copy cancelled; resume continues after the last recorded batch")
    report("copy done", state["bytes"], state["copied"], final=True)
    return CopyResult(
        copied_now,
        state["bytes"] - done_bytes,
        specials,
        tuple(meta.dropped.lines()),
        copier.method,
    )


def _full(batch: Batch, limits: BatchLimits) -> bool:
    count = len(batch.entries)
    return (
        count >= limits.entries
        or batch.data_bytes >= limits.data_bytes
        or (count % 64 == 0 and time.monotonic() - batch.started >= limits.seconds)
    )


class _DirPair:
    """Open source and target directory descriptors for the directory being filled.

    The scan lists a directory's files together, so one pair serves many files and each
    file is opened by name, without the kernel walking the whole path again.
    """

    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        self.parent: str | None = None
        self.fds: tuple[int, int] | None = None

    def at(self, parent: str) -> tuple[int, int]:
        if parent != self.parent or self.fds is None:
            self.close()
            src = f"{self.source}/{parent}" if parent else self.source
            dst = f"{self.target}/{parent}" if parent else self.target
            src_fd = open_dir(src)
            try:
                dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY | CLOEXEC)
            except BaseException:
                os.close(src_fd)
                raise
            self.parent, self.fds = parent, (src_fd, dst_fd)
        return self.fds

    def close(self) -> None:
        if self.fds is not None:
            for fd in self.fds:
                os.close(fd)
        self.fds = None


def _copy_one(
    dirs: _DirPair,
    src_dir: int,
    dst_dir: int,
    name: str,
    index: int,
    entry: Entry,
    copier: Copier,
    meta: MetadataCopier,
) -> None:
    try:
        _copy_named(dirs, src_dir, dst_dir, name, index, entry, copier, meta)
    except OSError as err:
        raise _located(err, dirs, entry, name) from None


def _located(err: OSError, dirs: _DirPair, entry: Entry, name: str) -> OSError:
    """The error with the file's full path. Calls relative to a directory descriptor name
    only the file, or nothing (ENOSPC from copy_file_range): the admin was told
    "Permission denied (00001.czi)" and could not tell which file, or on which disk
    (found by tests/faults)."""
    filename = err.filename
    # A call made on a descriptor (fsetxattr, futimens) names the descriptor, a number:
    # formatting that crashed the CLI (found by the second fault hunt, ENOSPC from
    # fsetxattr). The descriptor is the copy's; _copy_file names the source's.
    if isinstance(filename, (str, bytes)) and os.path.isabs(os.fsdecode(filename)):
        return err
    side = dirs.source if filename == name else dirs.target  # reading it, or its copy
    return OSError(err.errno, err.strerror or str(err), f"{side}/{entry.rel}")


def _copy_named(
    dirs: _DirPair,
    src_dir: int,
    dst_dir: int,
    name: str,
    index: int,
    entry: Entry,
    copier: Copier,
    meta: MetadataCopier,
) -> None:
    temp = f"{TEMP_PREFIX}{index}"
    for attempt in (1, 2):
        try:
            if entry.kind == "file":
                _copy_file(src_dir, dst_dir, name, temp, entry, copier, meta)
            elif entry.kind == "symlink":
                os.symlink(entry.link or "", temp, dir_fd=dst_dir)
                parent = dirs.parent or ""
                temp_rel = f"{parent}/{temp}" if parent else temp
                meta.apply_path(f"{dirs.target}/{temp_rel}", f"{dirs.source}/{entry.rel}", entry)
            elif entry.kind == "hardlink":
                first = f"{dirs.target}/{entry.link}"
                os.link(first, temp, dst_dir_fd=dst_dir, follow_symlinks=False)
            elif entry.kind == "special":
                _make_special(dirs, src_dir, dst_dir, name, temp, entry, meta)
            break
        except FileExistsError:
            if attempt == 2:
                raise
            _remove_leftover(temp, dst_dir)
    _into_place(dirs, dst_dir, temp, name, entry)
    if entry.kind == "hardlink":
        # rename() onto another name of the same inode does nothing and keeps the temp
        # name (POSIX). A resume re-links names the killed run had linked after its last
        # recorded batch: without this, .omero-tui-part-N stayed and the verify failed.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dst_dir)


def _copy_file(
    src_dir: int,
    dst_dir: int,
    name: str,
    temp: str,
    entry: Entry,
    copier: Copier,
    meta: MetadataCopier,
) -> None:
    # No fstat against the scan here: the verify step compares the copy with a fresh
    # scan of the source, so a file changed meanwhile is caught there, once.
    src_fd = open_for_read(name, dir_fd=src_dir)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | CLOEXEC | NOFOLLOW
        dst_fd = os.open(temp, flags, meta.create_mode(entry), dir_fd=dst_dir)
        try:
            copier.copy(src_fd, dst_fd, entry.size, entry.sparse)
            meta.apply_fd(dst_fd, src_fd, entry)
        except OSError as err:
            if err.filename == src_fd:  # read from the source's descriptor
                raise OSError(err.errno, err.strerror or str(err), name) from None
            raise
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def _make_special(
    dirs: _DirPair,
    src_dir: int,
    dst_dir: int,
    name: str,
    temp: str,
    entry: Entry,
    meta: MetadataCopier,
) -> None:
    """A fifo, socket or device node made again (devices need root): never skipped."""
    st = os.stat(name, dir_fd=src_dir, follow_symlinks=False)
    if stat.S_IFMT(st.st_mode) != stat.S_IFMT(entry.mode):
        raise OSError(errno.ESTALE, "changed kind since the scan", name)
    os.mknod(temp, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev, dir_fd=dst_dir)
    made = os.stat(temp, dir_fd=dst_dir, follow_symlinks=False)
    if (stat.S_IFMT(made.st_mode), made.st_rdev) != (stat.S_IFMT(st.st_mode), st.st_rdev):
        raise OSError(errno.EIO, "the target made another kind of special file", temp)
    parent = dirs.parent or ""
    temp_rel = f"{parent}/{temp}" if parent else temp
    meta.apply_path(f"{dirs.target}/{temp_rel}", f"{dirs.source}/{entry.rel}", entry)


def _into_place(dirs: _DirPair, dst_dir: int, temp: str, name: str, entry: Entry) -> None:
    """Rename the finished temporary name to its real one, never over an entry the copy
    did not make: a file someone created in the target meanwhile is left as it is, and
    named. An entry that is exactly this one's copy is a killed run's (a resume)."""
    if rename_noreplace(temp, name, dst_dir):
        return
    try:
        there = os.stat(name, dir_fd=dst_dir, follow_symlinks=False)
    except FileNotFoundError:
        there = None
    if there is not None and not _is_our_copy(there, dirs, name, dst_dir, entry):
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dst_dir)
        raise FileExistsError(
            errno.EEXIST,
            "was put in the target by someone else during the copy and was not replaced; "
            "move it away, then resume",
            f"{dirs.target}/{entry.rel}",
        )
    os.replace(temp, name, src_dir_fd=dst_dir, dst_dir_fd=dst_dir)


def _is_our_copy(there: os.stat_result, dirs: _DirPair, name: str, dst_dir: int, e: Entry) -> bool:
    kind = stat.S_IFMT(there.st_mode)
    if e.kind == "file":
        return kind == stat.S_IFREG and (there.st_size, there.st_mtime_ns) == (e.size, e.mtime_ns)
    if e.kind == "symlink":
        return kind == stat.S_IFLNK and os.readlink(name, dir_fd=dst_dir) == e.link
    if e.kind == "hardlink":
        first = os.stat(f"{dirs.target}/{e.link}", follow_symlinks=False)
        if (there.st_dev, there.st_ino) == (first.st_dev, first.st_ino):
            return True
        # A killed run linked this name to its copy of the first name, which the resume
        # has since copied again (a new inode): still the engine's own, by size and time.
        return kind == stat.S_IFREG and (there.st_size, there.st_mtime_ns) == (e.size, e.mtime_ns)
    return kind == stat.S_IFMT(e.mode) and there.st_mtime_ns == e.mtime_ns


_RENAME_NOREPLACE = 1
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    _renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    _renameat2.restype = ctypes.c_int
except (OSError, AttributeError):
    _renameat2 = None


def rename_noreplace(old: str, new: str, dir_fd: int) -> bool:
    """Rename within ``dir_fd`` unless ``new`` exists: True if renamed, False if ``new``
    exists or the filesystem cannot promise it (the caller then looks first)."""
    if _renameat2 is None:
        return False
    result = _renameat2(dir_fd, os.fsencode(old), dir_fd, os.fsencode(new), _RENAME_NOREPLACE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EEXIST, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), old)


def _remove_leftover(temp: str, dir_fd: int) -> None:
    """A temp name left by a run that was killed: it was never recorded, so it goes."""
    try:
        os.unlink(temp, dir_fd=dir_fd)
    except IsADirectoryError:
        raise FileExistsError(errno.EEXIST, "a directory holds a temporary name", temp) from None


def finish_directories(
    scan: TreeScan,
    target: str,
    *,
    metadata: MetadataCopier | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Owners, modes, attributes and times of every directory, deepest first, the root last.

    Idempotent, so a resume simply does it again.
    """
    meta = metadata or MetadataCopier()
    for entry in reversed(scan.entries):
        if entry.kind != "dir":
            continue
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled while setting directory metadata")
        path = os.path.join(target, entry.rel) if entry.rel else target
        meta.apply_path(path, os.path.join(scan.root, entry.rel) if entry.rel else scan.root, entry)
    fd = os.open(target, os.O_RDONLY)
    try:
        syncfs(fd)
    finally:
        os.close(fd)
