"""Durability helpers: ``syncfs`` for a whole batch, ``fsync`` for one file or directory."""

from __future__ import annotations

import ctypes
import os

try:
    _SYNCFS = ctypes.CDLL(None, use_errno=True).syncfs
    _SYNCFS.argtypes = [ctypes.c_int]
except (OSError, AttributeError):  # not Linux
    _SYNCFS = None


def syncfs(fd: int) -> None:
    """Flush the filesystem ``fd`` lives on: one call makes a whole batch durable.

    Falls back to a global ``sync`` where ``syncfs`` does not exist.
    """
    if _SYNCFS is not None and _SYNCFS(fd) == 0:
        return
    os.sync()


def fsync_path(path: str) -> None:
    """fsync a file or a directory by path (a directory's fsync makes its renames durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
