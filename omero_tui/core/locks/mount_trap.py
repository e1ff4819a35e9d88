"""The dismounted-share trap: a declared mount that is not mounted, and its guard.

When a share holding the repository fails to mount or is dismounted, OMERO carries on
writing into the bare mount point. :func:`check_declared` compares the declarations
(``declared_mounts``) with the live mount table and, for a mount point left bare,
looks at the guard OMERO recommends: a mount point the server user cannot write, or
one marked immutable. While a share is mounted its guard is hidden under it, so the
console can only give the guard commands as advice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from omero_tui.core.locks.declared_mounts import DeclaredMount, DeclaredMounts, normalise
from omero_tui.core.mounts import MountInfo, MountTable
from omero_tui.core.record import frozen

_FS_IOC_GETFLAGS = 0x80086601  # Linux; the kernel reads and writes an int through it
_FS_IMMUTABLE_FL = 0x00000010


@frozen
class MountGuard:
    """What a bare (unmounted) mount point shows; unknowable while something is mounted."""

    exists: bool
    immutable: bool | None  # chattr +i; None when the filesystem cannot say
    server_can_write: bool | None  # None when neither the user nor the mode tells
    detail: str  # "root:root 0555, immutable", ...

    @property
    def in_place(self) -> bool:
        return bool(self.immutable) or self.server_can_write is False


@frozen
class DeclaredState:
    declared: DeclaredMount
    mount_point: str  # concrete (an autofs wildcard resolved for this repository)
    mounted: MountInfo | None  # what is mounted there now, if anything
    trigger: MountInfo | None  # the autofs trigger mount for an automount not yet mounted
    guard: MountGuard | None  # only for a bare mount point
    covers: tuple[str, ...]  # the repository paths under it
    # Repository paths that exist below a bare mount point: a guard on the mount point
    # itself cannot stop the server writing into directories already made under it.
    exposed: tuple[str, ...] = ()

    @property
    def bare(self) -> bool:
        """Declared, not mounted, and nothing will mount it on access: the trap is open."""
        return self.mounted is None and self.trigger is None


def check_declared(
    paths: Sequence[str],
    declared: DeclaredMounts,
    table: MountTable,
    server_user: str | None = None,
    guard: Callable[[str, str | None], MountGuard] | None = None,
) -> list[DeclaredState]:
    """One state per declared mount point at or above any of ``paths``.

    Stat the paths before building ``table``: that access is what makes an automounter
    mount them, so the table then shows what the server would see.
    """
    covered: dict[str, tuple[DeclaredMount, list[str]]] = {}
    for path in paths:
        for spelling in dict.fromkeys((os.path.abspath(path), _realpath(path))):
            for mount, point in declared.covering(spelling):
                covered.setdefault(point, (mount, []))[1].append(path)
    states = []
    for point, (mount, under) in sorted(covered.items()):
        mounted = _mounted_at(table, point)
        trigger = None
        if mounted is None and mount.automount:
            trigger = _mounted_at(table, mount.trigger_point or point, fstype="autofs")
        seen = None
        exposed: tuple[str, ...] = ()
        if mounted is None and trigger is None:
            seen = (guard or inspect_guard)(point, server_user)
            exposed = tuple(
                p for p in dict.fromkeys(under) if normalise(p) != point and os.path.lexists(p)
            )
        states.append(
            DeclaredState(
                mount, point, mounted, trigger, seen, tuple(dict.fromkeys(under)), exposed
            )
        )
    return states


def inspect_guard(point: str, server_user: str | None) -> MountGuard:
    try:
        st = os.stat(point)
    except OSError:
        return MountGuard(False, None, None, "the mount point does not exist")
    immutable = _immutable(point)
    can_write = _user_can_write(st, server_user)
    owner = _name_of(st.st_uid, "pwd")
    group = _name_of(st.st_gid, "grp")
    detail = f"{owner}:{group} {st.st_mode & 0o7777:04o}"
    if immutable:
        detail += ", immutable"
    return MountGuard(True, immutable, can_write, detail)


def guard_commands(point: str) -> str:
    """The documented guard, as commands for the admin to run while the share is unmounted."""
    return f"chown root:root {point} && chmod 0555 {point} (or: chattr +i {point})"


def _mounted_at(table: MountTable, point: str, fstype: str | None = None) -> MountInfo | None:
    for mount in reversed(table.mounts):  # the latest mount on a point is the visible one
        if normalise(mount.mount_point) == point and (fstype is None or mount.fstype == fstype):
            return mount
    return None


def _immutable(point: str) -> bool | None:
    try:
        import fcntl

        fd = os.open(point, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (ImportError, OSError):
        return None
    try:
        flags = bytearray(8)
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
        return bool(int.from_bytes(flags[:4], sys.byteorder) & _FS_IMMUTABLE_FL)
    except OSError:
        return None  # not Linux, or a filesystem without inode flags
    finally:
        os.close(fd)


def _user_can_write(st: os.stat_result, user: str | None) -> bool | None:
    mode = st.st_mode
    if user is None:
        # Unknown server user: any write bit for someone other than root may be it.
        if mode & 0o022 or (st.st_uid != 0 and mode & 0o200):
            return None
        return False
    try:
        import grp
        import pwd

        entry = pwd.getpwnam(user)
        groups = {entry.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    except (ImportError, KeyError):
        return None
    if entry.pw_uid == 0:
        return True
    if st.st_uid == entry.pw_uid:
        return bool(mode & 0o200)
    if st.st_gid in groups:
        return bool(mode & 0o020)
    return bool(mode & 0o002)


def _name_of(number: int, module: str) -> str:
    try:
        if module == "pwd":
            import pwd

            return pwd.getpwuid(number).pw_name
        import grp

        return grp.getgrgid(number).gr_name
    except (ImportError, KeyError):
        return str(number)


def _realpath(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)
