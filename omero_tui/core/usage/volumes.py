"""The filesystems the repository lives on: size, free space and free inodes.

``free_bytes`` is what an unprivileged user may still write (statvfs f_bavail, psutil's
``free``): the OMERO server does not run as root, so the root reserve is not its headroom.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from omero_tui.core.mounts import MountTable
from omero_tui.core.record import frozen
from omero_tui.core.usage.model import UsageScan


@frozen
class Volume:
    mount_point: str
    device: str  # "/dev/vda on / (ext4)"
    holds: tuple[str, ...]  # "data dir", and the rows that live elsewhere
    path: str  # a repository path on it, measured
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    total_inodes: int | None = None  # None: the filesystem has no fixed inode table
    free_inodes: int | None = None
    error: str | None = None  # why it could not be measured

    @property
    def free_percent(self) -> float | None:
        if not self.total_bytes or self.free_bytes is None:
            return None
        return 100.0 * self.free_bytes / self.total_bytes

    @property
    def free_inode_percent(self) -> float | None:
        if not self.total_inodes or self.free_inodes is None:
            return None
        return 100.0 * self.free_inodes / self.total_inodes

    def to_json(self) -> dict[str, object]:
        return {
            "mount_point": self.mount_point,
            "device": self.device,
            "holds": list(self.holds),
            "total_bytes": self.total_bytes,
            "used_bytes": self.used_bytes,
            "free_bytes": self.free_bytes,
            "total_inodes": self.total_inodes,
            "free_inodes": self.free_inodes,
            "error": self.error,
        }


VolumeReader = Callable[[UsageScan], tuple[Volume, ...]]


def read_volumes(scan: UsageScan, table: MountTable | None = None) -> tuple[Volume, ...]:
    """One Volume per filesystem holding a walked tree, data dir first."""
    table = table or MountTable.read()
    groups: dict[int, tuple[str, list[str]]] = {}
    for index, root in enumerate(scan.roots):
        label = "data dir" if index == 0 else root.name
        path, holds = groups.setdefault(root.dev, (root.path, []))
        holds.append(label)
    return tuple(measure(path, tuple(holds), table) for path, holds in groups.values())


def measure(path: str, holds: tuple[str, ...], table: MountTable) -> Volume:
    mount = table.mount_of(path)
    mount_point = mount.mount_point if mount else path
    device = mount.describe() if mount else ""
    try:
        vfs = os.statvfs(path)
    except OSError as err:
        return Volume(mount_point, device, holds, path, error=err.strerror or str(err))
    inodes = vfs.f_files or None  # btrfs and others report 0: no fixed table to run out of
    # The figures of psutil.disk_usage (and df), from one statvfs without importing it.
    return Volume(
        mount_point=mount_point,
        device=device,
        holds=holds,
        path=path,
        total_bytes=vfs.f_blocks * vfs.f_frsize,
        used_bytes=(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize,
        free_bytes=vfs.f_bavail * vfs.f_frsize,
        total_inodes=inodes,
        free_inodes=vfs.f_favail if inodes else None,
    )
