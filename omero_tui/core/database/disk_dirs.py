"""Walk a directory one directory at a time, in the order the database groups rows.

The check compares a whole directory's listing with the rows whose parent it is, so
the walk yields one ``DiskDir`` per directory (its files' names and sizes, its
subdirectories' names) and never a Python object per file beyond the ``os.DirEntry``
scandir makes anyway. Directories come out in byte order of their key (``b""`` for the
root, ``b"a/b/"`` below it): a depth-first walk whose subdirectories are taken in byte
order of ``name + "/"``, the order of ``ORDER BY parent COLLATE "C"``.

Each directory is opened relative to its parent's descriptor and every file is
``stat``-ed relative to it (``fstatat``, as ``du`` does), which keeps the kernel from
resolving the whole path again for every file. Memory is one listing per level.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from operator import attrgetter

from omero_tui.core.record import mutable

OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_name = attrgetter("name")


def to_bytes(name: str) -> bytes:
    """A name from a descriptor-relative scandir back to the bytes the kernel gave."""
    return name.encode("utf-8", "surrogateescape")


@mutable(slots=True)
class DiskDir:
    """One directory's listing, already in the form the database's group row has."""

    key: bytes  # relative to the walk's root: b"" for the root, else b"a/b/"
    names: bytes  # files (and all else not a directory), "/"-joined in byte order
    sizes: bytes  # their st_size (a link followed) ","-joined; "None" where unknown
    files: int
    total: int  # the sum of the known sizes
    dirs: list[str]  # subdirectories, in byte order of name + "/"

    @classmethod
    def of(cls, key: bytes, names: list[str], sizes: list[int | None], dirs: list[str]) -> DiskDir:
        # Joined here, in the walking process: the check compares whole strings.
        return cls(
            key,
            to_bytes("/".join(names)),
            ",".join(map(str, sizes)).encode(),
            len(names),
            sum(filter(None, sizes)),
            dirs,
        )

    def name_list(self) -> list[bytes]:
        return self.names.split(b"/") if self.files else []

    def size_list(self) -> list[int | None]:
        if not self.files:
            return []
        return [None if v == b"None" else int(v) for v in self.sizes.split(b",")]

    def dirs_blob(self) -> bytes:
        return to_bytes("/".join(self.dirs))


def _sorted_bytewise(names: list[str], suffix: str = "") -> list[str]:
    # str order is byte order for ASCII; anything else is sorted by its real bytes.
    if "".join(names).isascii():
        names.sort(key=(lambda n: n + suffix) if suffix else None)
    else:
        names.sort(key=lambda n: to_bytes(n + suffix))
    return names


def listing(fd: int) -> tuple[list[str], list[int | None], list[str]]:
    files: list[os.DirEntry[str]] = []
    others: list[str] = []
    dirs: list[str] = []
    with os.scandir(fd) as it:
        for entry in it:
            try:
                if entry.is_file():  # d_type, or one stat for a symlink
                    files.append(entry)
                elif entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                else:
                    others.append(entry.name)  # broken link, link to a dir, fifo...
            except OSError:
                others.append(entry.name)
    files.sort(key=_name)
    names = [e.name for e in files]
    if not "".join(names).isascii():
        files.sort(key=lambda e: to_bytes(e.name))
        names = [e.name for e in files]
    try:
        sizes: list[int | None] = [e.stat().st_size for e in files]
    except OSError:  # gone since the listing: take them one by one
        sizes = []
        for e in files:
            try:
                sizes.append(e.stat().st_size)
            except OSError:
                sizes.append(None)
    if others:
        pairs = sorted(
            [*zip(names, sizes, strict=True), *((n, None) for n in others)],
            key=lambda p: to_bytes(p[0]),
        )
        names, sizes = [n for n, _ in pairs], [z for _, z in pairs]
    return names, sizes, _sorted_bytewise(dirs, "/")


def walk_dirs(
    root: bytes,
    *,
    skip_top: tuple[str, ...] = (),
    on_error: Callable[[bytes, OSError], None] | None = None,
) -> Iterator[DiskDir]:
    """Every directory under ``root`` (root first) in byte order of its key."""
    try:
        fd = os.open(root, OPEN_DIR)
    except OSError as err:
        if on_error is not None:
            on_error(b"", err)
        return
    stack: list[tuple[int, bytes, Iterator[str]]] = []
    key = b""
    try:
        while True:
            if fd >= 0:
                try:
                    names, sizes, dirs = listing(fd)
                except OSError as err:
                    if on_error is not None:
                        on_error(key, err)
                    names, sizes, dirs = [], [], []
                if not key and skip_top:
                    dirs = [d for d in dirs if d not in skip_top]
                yield DiskDir.of(key, names, sizes, dirs)
                stack.append((fd, key, iter(dirs)))
            parent_fd, parent_key, children = stack[-1]
            child = next(children, None)
            if child is None:
                os.close(parent_fd)
                stack.pop()
                if not stack:
                    return
                fd = -1
                continue
            key = parent_key + to_bytes(child) + b"/"
            try:
                fd = os.open(child, OPEN_DIR, dir_fd=parent_fd)
            except OSError as err:
                if on_error is not None:
                    on_error(key, err)
                yield DiskDir.of(key, [], [], [])
                fd = -1
    finally:
        for parent_fd, _, _ in stack:
            os.close(parent_fd)
