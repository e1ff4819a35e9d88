"""Walk a directory in the byte order the database sorts paths in (``COLLATE "C"``).

Entries come out as (key, is_dir, size, path) with ``key`` the path relative to the
root as bytes. A directory's own key ends with ``/`` and its children follow it at
once: sorting a directory's entries by ``name`` for files and ``name + b"/"`` for
directories makes this depth-first walk yield keys in strictly increasing byte order,
the same order as ``ORDER BY key COLLATE "C"`` over the rows (``a.b`` < ``a/`` <
``a/x``). Memory is one directory listing per level, never the whole tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator

from omero_tui.core.record import frozen


@frozen(slots=True)
class DiskEntry:
    key: bytes  # relative path; directories end with b"/"
    is_dir: bool
    size: int | None  # st_size of a file (following a symlink); None if it cannot be read
    path: bytes  # absolute path, for reading the file when hashing


def _listing(directory: bytes) -> list[tuple[bytes, bool]]:
    out: list[tuple[bytes, bool]] = []
    with os.scandir(directory) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            out.append((entry.name + b"/" if is_dir else entry.name, is_dir))
    out.sort()
    return out


def walk_sorted(
    root: bytes,
    *,
    skip: Callable[[bytes, bool], bool] = lambda key, is_dir: False,
    on_error: Callable[[bytes, OSError], None] | None = None,
) -> Iterator[DiskEntry]:
    """Every entry under ``root`` (not root itself) in byte order; ``skip`` prunes."""
    try:
        top = _listing(root)
    except OSError as err:
        if on_error is not None:
            on_error(b"", err)
        return
    stack: list[tuple[bytes, Iterator[tuple[bytes, bool]]]] = [(b"", iter(top))]
    while stack:
        prefix, it = stack[-1]
        item = next(it, None)
        if item is None:
            stack.pop()
            continue
        sort_name, is_dir = item
        key = prefix + sort_name
        if skip(key, is_dir):
            continue
        path = os.path.join(root, key.rstrip(b"/"))
        if is_dir:
            yield DiskEntry(key, True, None, path)
            try:
                listing = _listing(path)
            except OSError as err:
                if on_error is not None:
                    on_error(key, err)
                continue
            stack.append((key, iter(listing)))
            continue
        try:
            st = os.stat(path)  # follows an in-place import's symlink, as the server does
            size = st.st_size if stat.S_ISREG(st.st_mode) else None
        except OSError:
            size = None
        yield DiskEntry(key, False, size, path)
