"""The largest files of one directory, listed when the admin opens it in the drill-down.

The scan keeps no per-file list (a million files would not fit the memory budget), so
the drill-down reads the one directory it shows, now, and keeps only the ``limit``
largest (a heap), however many files the directory holds.
"""

from __future__ import annotations

import heapq
import os

from omero_tui.core.record import frozen
from omero_tui.core.usage.walk import S_IFDIR, S_IFMT, S_IFREG


@frozen
class FileEntry:
    name: str
    apparent_bytes: int
    allocated_bytes: int
    links: int  # st_nlink: more than one, and its space is shared
    regular: bool  # False for symlinks, sockets, devices


@frozen
class FileListing:
    path: str
    files: tuple[FileEntry, ...]  # largest first (allocated bytes)
    more_files: int = 0  # files left out of ``files``
    more_allocated_bytes: int = 0
    error: str | None = None


def largest_files(path: str, limit: int = 100) -> FileListing:
    heap: list[tuple[int, str, FileEntry]] = []
    more = more_bytes = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                mode = st.st_mode & S_IFMT
                if mode == S_IFDIR:
                    continue
                allocated = st.st_blocks * 512
                item = FileEntry(entry.name, st.st_size, allocated, st.st_nlink, mode == S_IFREG)
                if len(heap) < limit:
                    heapq.heappush(heap, (allocated, entry.name, item))
                    continue
                if limit and (allocated, entry.name) > heap[0][:2]:
                    dropped = heapq.heapreplace(heap, (allocated, entry.name, item))
                    allocated = dropped[0]
                more += 1
                more_bytes += allocated
    except OSError as err:
        return FileListing(path, (), error=err.strerror or str(err))
    files = tuple(item for _, _, item in sorted(heap, key=lambda h: (-h[0], h[1])))
    return FileListing(path, files, more, more_bytes)
