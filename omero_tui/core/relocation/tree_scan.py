"""One look at the tree to relocate: every entry, in a fixed order, with what it needs.

The order (a directory, then its non-directory entries by name, then its
subdirectories, depth first) is deterministic for an unchanged tree. That lets the
journal record copy progress as "everything before entry N is done" and lets a resume
prove, by a fingerprint, that the source is the tree the copy started on.

Directories are opened with ``O_NOATIME`` where allowed (root or the owner), so even
looking at the source leaves its access times as they were.

Extended attributes (POSIX ACLs among them: ``system.posix_acl_*``) are read with each
entry: the copy sets exactly these, the verification and the resume fingerprint compare
them, and the preflight tries the largest of them on the target.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Mapping
from typing import NamedTuple

from omero_tui.core.findings import counted
from omero_tui.core.record import field, frozen
from omero_tui.core.relocation.progress import Progress, Reporter, check_cancel
from omero_tui.core.usage.format import human_bytes

NOATIME = getattr(os, "O_NOATIME", 0)
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
PATH_MAX = 4096  # bytes, the terminating NUL included (linux/limits.h)
# The SELinux label is the policy's, given by path (restorecon), not part of the data:
# copied where allowed, never compared, so a relabel does not fail a verification.
UNCOMPARED_XATTRS = frozenset({"security.selinux"})
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}

Xattrs = tuple[tuple[str, bytes], ...]


class Entry(NamedTuple):
    """One entry as lstat saw it (a tuple: a large tree holds millions of these)."""

    rel: str  # path below the root, "/"-separated; "" for the root itself
    kind: str  # "dir" | "file" | "hardlink" | "symlink" | "special" (fifo, socket, device)
    mode: int  # st_mode, type bits included
    uid: int
    gid: int
    size: int
    blocks: int  # 512-byte blocks allocated
    atime_ns: int
    mtime_ns: int
    dev: int
    ino: int
    nlink: int
    link: str | None = None  # symlink text, or the rel of the first name of a hard link
    xattrs: Xattrs = ()  # (name, value) by name; ACLs are system.posix_acl_* entries

    @property
    def compared_xattrs(self) -> Xattrs:
        return tuple(x for x in self.xattrs if x[0] not in UNCOMPARED_XATTRS)

    @property
    def sparse(self) -> bool:
        return self.kind == "file" and self.blocks * 512 < self.size

    @property
    def data_bytes(self) -> int:
        """Bytes that will really be read and written (holes of sparse files are not)."""
        if self.kind != "file":
            return 0
        return min(self.size, self.blocks * 512) if self.sparse else self.size


@frozen
class TreeScan:
    root: str
    entries: tuple[Entry, ...]  # entries[0] is the root
    dirs: int
    files: int  # regular files (first names only)
    hardlinks: int  # further names of a file already listed
    symlinks: int
    data_bytes: int  # bytes the copy reads and writes
    apparent_bytes: int  # sum of regular file sizes (each inode once)
    allocated_bytes: int  # what the source really occupies (each inode once)
    specials: tuple[str, ...]  # fifos, sockets, devices (also entries: made again by the copy)
    links_outside: tuple[str, ...]  # files with hard links outside the tree
    foreign_mounts: tuple[str, ...]  # entries on another filesystem than the root
    unreadable: tuple[str, ...]  # directories that could not be listed
    too_long: tuple[str, ...]  # entries whose full path is beyond PATH_MAX: not copyable
    longest_rel: int  # longest rel path, in bytes
    longest_name: int  # longest single name, in bytes
    case_collisions: tuple[tuple[str, str], ...] = field(default=())
    fingerprint: str = ""  # sha256 over names, kinds, sizes, times, modes, owners, links, xattrs
    legacy_fingerprint: str = ""  # the same without owners and xattrs (journals before #16)

    @property
    def inodes(self) -> int:
        """Inodes the copy will use on the target (a hard link uses none)."""
        return self.dirs + self.files + self.symlinks + len(self.specials)

    def copied_entries(self) -> int:
        return self.files + self.hardlinks + self.symlinks

    def counts_words(self) -> str:
        """What is there, counted as the Disk usage panel counts it (files like
        ``find -type f``: every name of a hard-linked file; dirs with the top one)."""
        entries = self.files + self.hardlinks + self.dirs + self.symlinks
        parts = [
            counted(self.files + self.hardlinks, "file"),
            counted(self.dirs, "dir"),
            *([counted(self.symlinks, "symlink")] if self.symlinks else []),
        ]
        return (
            f"{', '.join(parts)} ({counted(entries, 'entry')}); "
            f"{human_bytes(self.apparent_bytes)} apparent, "
            f"{human_bytes(self.allocated_bytes)} allocated"
        )


def open_dir(path: str, dir_fd: int | None = None) -> int:
    """A directory fd, without touching its atime when the kernel lets us."""
    if NOATIME:
        try:
            return os.open(path, DIR_FLAGS | NOATIME, dir_fd=dir_fd)
        except PermissionError:
            pass  # O_NOATIME needs ownership or CAP_FOWNER
    return os.open(path, DIR_FLAGS, dir_fd=dir_fd)


def entry_from_stat(
    rel: str, st: os.stat_result, kind: str, link: str | None = None, xattrs: Xattrs = ()
) -> Entry:
    return Entry(
        rel,
        kind,
        st.st_mode,
        st.st_uid,
        st.st_gid,
        st.st_size,
        getattr(st, "st_blocks", (st.st_size + 511) // 512),
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_dev,
        st.st_ino,
        st.st_nlink,
        link,
        xattrs,
    )


def read_xattrs(path: str | int, *, follow_symlinks: bool = False) -> Xattrs:
    """Every extended attribute of ``path`` (a path or a descriptor), sorted by name."""
    if not hasattr(os, "listxattr"):
        return ()
    try:
        names = os.listxattr(path, follow_symlinks=follow_symlinks)
    except OSError as err:
        if err.errno in _NO_XATTRS:
            return ()
        raise
    return xattr_values(path, names, follow_symlinks=follow_symlinks) if names else ()


def xattr_values(path: str | int, names: list[str], *, follow_symlinks: bool = False) -> Xattrs:
    found = []
    for name in sorted(names):
        try:
            found.append((name, os.getxattr(path, name, follow_symlinks=follow_symlinks)))
        except OSError as err:
            if err.errno != errno.ENODATA:  # removed in between
                raise
    return tuple(found)


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special"


def join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def scan_tree(
    root: str,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    step: str = "scan",
) -> TreeScan:
    """Walk ``root`` (a real directory path, not followed further) without following links.

    ``step`` names the progress reports (the verify step scans the copy too)."""
    report = Reporter(progress, step)
    root_st = os.lstat(root)
    if not stat.S_ISDIR(root_st.st_mode):
        raise NotADirectoryError(f"{root} is not a directory")
    walk = _Walk(root, root_st.st_dev)
    stack = [entry_from_stat("", root_st, "dir", None, read_xattrs(root))]
    while stack:
        check_cancel(cancel)
        directory = stack.pop()
        walk.add(directory)
        # Its files now, then each subdirectory with everything below it, by name.
        stack.extend(reversed(walk.list_dir(directory.rel)))
        report(f"scanned {len(walk.entries)} entries", 0, len(walk.entries))
    report(f"scanned {len(walk.entries)} entries", 0, len(walk.entries), final=True)
    return walk.result()


class _Walk:
    def __init__(self, root: str, dev: int) -> None:
        self.root = root
        self.dev = dev
        self.entries: list[Entry] = []
        self.first_name: dict[tuple[int, int], str] = {}
        self.names_seen: dict[tuple[int, int], tuple[int, int]] = {}  # (seen, nlink)
        self.specials: list[str] = []
        self.foreign: list[str] = []
        self.unreadable: list[str] = []
        self.too_long: list[str] = []
        self.collisions: list[tuple[str, str]] = []
        self.add = self.entries.append  # the hot path: sums are taken once at the end

    def list_dir(self, rel: str) -> list[Entry]:
        """Add the non-directory entries of ``rel``; return its subdirectories, by name."""
        path = os.path.join(self.root, rel) if rel else self.root
        try:
            fd = open_dir(path)
        except OSError as err:
            self._not_listed(rel, err)
            return []
        try:
            try:
                with os.scandir(fd) as it:
                    found = [(e.name, e.stat(follow_symlinks=False)) for e in it]
            except OSError as err:
                self._not_listed(rel, err)
                return []
            found.sort(key=lambda item: item[0])
            self._note_collisions(rel, [name for name, _ in found])
            return self._entries(rel, path, fd, found)
        finally:
            os.close(fd)

    def _entries(
        self, rel: str, path: str, fd: int, found: list[tuple[str, os.stat_result]]
    ) -> list[Entry]:
        subdirs: list[Entry] = []
        room = PATH_MAX - 1 - len(os.fsencode(path)) - 1  # bytes left for a name here
        listxattr = getattr(os, "listxattr", None)
        for name, st in found:
            child = join(rel, name)
            kind = kind_of(st.st_mode)
            if st.st_dev != self.dev:
                self.foreign.append(child)
                continue
            if kind == "special":
                self.specials.append(child)
            # A name's bytes are at most 4 per character: encoded only when it may matter.
            if len(name) * 4 > room and len(os.fsencode(name)) > room:
                self.too_long.append(child)
                continue
            full = f"{path}/{name}"
            xattrs: Xattrs = ()
            if listxattr is not None:  # the hot path: one call says "none" for most entries
                try:
                    names = listxattr(full, follow_symlinks=False)
                except OSError as err:
                    if err.errno not in _NO_XATTRS:
                        raise
                    names = []
                xattrs = xattr_values(full, names) if names else ()
            if kind == "dir":
                subdirs.append(entry_from_stat(child, st, "dir", None, xattrs))
            elif kind == "special":
                self.add(entry_from_stat(child, st, "special", None, xattrs))
            elif kind == "symlink":
                text = os.readlink(name, dir_fd=fd)
                self.add(entry_from_stat(child, st, "symlink", text, xattrs))
            else:
                self.add(self._file(child, st, xattrs))
        return subdirs

    def _not_listed(self, rel: str, err: OSError) -> None:
        if err.errno == errno.ENAMETOOLONG:
            self.too_long.append(rel or ".")
        else:
            self.unreadable.append(rel or ".")

    def _file(self, rel: str, st: os.stat_result, xattrs: Xattrs) -> Entry:
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            seen, _ = self.names_seen.get(key, (0, st.st_nlink))
            self.names_seen[key] = (seen + 1, st.st_nlink)
            first = self.first_name.get(key)
            if first is not None:
                return entry_from_stat(rel, st, "hardlink", first, xattrs)
            self.first_name[key] = rel
        return entry_from_stat(rel, st, "file", None, xattrs)

    def _note_collisions(self, rel: str, names: list[str]) -> None:
        folded: dict[str, str] = {}
        for name in names:
            key = name.casefold()
            if key in folded:
                self.collisions.append((join(rel, folded[key]), join(rel, name)))
            else:
                folded[key] = name

    def result(self) -> TreeScan:
        entries = self.entries
        counts = {"dir": 0, "file": 0, "hardlink": 0, "symlink": 0, "special": 0}
        for entry in entries:
            counts[entry.kind] += 1
        files = [e for e in entries if e.kind == "file"]
        outside = [
            self.first_name[key] for key, (seen, nlink) in self.names_seen.items() if seen < nlink
        ]
        rel_bytes = [len(e.rel.encode("utf-8", "surrogateescape")) for e in entries]
        names = (e.rel.rsplit("/", 1)[-1] for e in entries)
        # Sizes and times of directories change as the copy fills them: not fingerprinted.
        legacy = [
            (e.rel, e.kind, e.mode, e.link)
            if e.kind == "dir"
            else (e.rel, e.kind, e.mode, e.link, e.size, e.mtime_ns)
            for e in entries
        ]
        keys = [
            (*key, e.uid, e.gid, e.compared_xattrs) if e.xattrs else (*key, e.uid, e.gid)
            for key, e in zip(legacy, entries, strict=True)
        ]
        return TreeScan(
            root=self.root,
            entries=tuple(entries),
            dirs=counts["dir"],
            files=counts["file"],
            hardlinks=counts["hardlink"],
            symlinks=counts["symlink"],
            data_bytes=sum(e.data_bytes for e in files),
            apparent_bytes=sum(e.size for e in files),
            allocated_bytes=sum(e.blocks for e in entries if e.kind != "hardlink") * 512,
            specials=tuple(self.specials),
            links_outside=tuple(sorted(outside)),
            foreign_mounts=tuple(self.foreign),
            unreadable=tuple(self.unreadable),
            too_long=tuple(self.too_long),
            longest_rel=max(rel_bytes, default=0),
            longest_name=max((len(n.encode("utf-8", "surrogateescape")) for n in names), default=0),
            case_collisions=tuple(self.collisions),
            fingerprint=_digest(keys),
            legacy_fingerprint=_digest(legacy),
        )


FINGERPRINT_VERSION = 2  # 2: owners and xattrs (ACLs) too


def fingerprint_fact(scan: TreeScan) -> dict[str, object]:
    """What the journal records of the scan the copy started from."""
    return {"fingerprint": scan.fingerprint, "fingerprint_version": FINGERPRINT_VERSION}


def same_tree(recorded: Mapping[str, object], scan: TreeScan) -> bool:
    """Whether ``scan`` is the tree a journal recorded (older journals: the older print)."""
    if recorded.get("fingerprint_version") == FINGERPRINT_VERSION:
        return recorded.get("fingerprint") == scan.fingerprint
    return recorded.get("fingerprint") == scan.legacy_fingerprint


def _digest(keys: list) -> str:
    return hashlib.sha256(repr(keys).encode("utf-8", "surrogateescape")).hexdigest()
