"""The same-filesystem move: one ``rename``, instant at any size, undone by another.

Used only when source and target are on the same mount and the source is not a mount
point (a mount point cannot be renamed, and a rename across mounts fails with EXDEV).
Nothing is copied, so nothing needs verifying byte by byte: the inode tree itself moves,
with every owner, mode, time, link and the hidden ``.omero`` identity as they were.
"""

from __future__ import annotations

import errno
import os

from omero_tui.core.relocation.sync import fsync_path


class RenameRefused(Exception):
    """The rename cannot be done safely; one line."""


def rename_into_place(source: str, target: str) -> None:
    """Rename ``source`` to ``target`` (absent, or an empty directory it replaces)."""
    if os.path.isdir(target) and os.listdir(target):
        raise RenameRefused(f"{target} is not empty; nothing was moved")
    try:
        os.rename(source, target)
    except OSError as err:
        if err.errno == errno.EXDEV:
            raise RenameRefused(
                f"{source} and {target} turned out to be on different mounts; nothing was moved"
            ) from None
        raise
    for directory in {os.path.dirname(source), os.path.dirname(target)}:
        fsync_path(directory)


def rename_back(target: str, source: str) -> None:
    """Undo :func:`rename_into_place`; the old name must be free (or an empty directory)."""
    if os.path.lexists(source):
        if os.path.isdir(source) and not os.path.islink(source) and not os.listdir(source):
            os.rmdir(source)  # e.g. an empty dir a server start created at the old path
        else:
            raise RenameRefused(
                f"{source} exists again and is not empty; move {target} back by hand"
            )
    os.rename(target, source)
    for directory in {os.path.dirname(source), os.path.dirname(target)}:
        fsync_path(directory)
