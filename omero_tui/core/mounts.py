"""Which filesystem a path lives on, and whether a directory is a mount point.

On Linux the mount table comes from ``/proc/self/mountinfo``: unlike ``/proc/mounts``
it carries the device numbers (so a match can be checked against ``st_dev``) and the
super-block options where NFS keeps ``vers=``, ``nolock`` and ``local_lock=``.
Elsewhere psutil's partition list is the best there is.

A :class:`MountTable` is a snapshot: build one per inspection and pass it around, so
that one look at the repository sees one consistent table and a remount is seen
next time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from omero_tui.core.record import field, frozen, mutable

MOUNTINFO = "/proc/self/mountinfo"

_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


@frozen
class MountInfo:
    mount_point: str
    source: str  # device or share, e.g. "/dev/vda", "nfs.example.org:/export/omero"
    fstype: str
    options: tuple[str, ...]  # per-mount options, e.g. ("rw", "relatime")
    super_options: tuple[str, ...] = ()  # filesystem options (NFS vers=, local_lock=, ...)
    device: tuple[int, int] | None = None  # (major, minor) as in st_dev; None if unknown
    root: str = "/"  # the part of the filesystem mounted here (bind mounts, subvolumes)
    mount_id: int | None = None
    parent_id: int | None = None

    @property
    def all_options(self) -> tuple[str, ...]:
        return self.options + tuple(o for o in self.super_options if o not in self.options)

    def option(self, name: str) -> str | None:
        """Value of ``name=value`` ("" for a bare flag), None when the option is absent."""
        for opt in self.all_options:
            key, sep, value = opt.partition("=")
            if key == name:
                return value if sep else ""
        return None

    def describe(self) -> str:
        return f"{self.source} on {self.mount_point} ({self.fstype})"


@mutable
class MountTable:
    """A snapshot of the mount table, in mount order (later mounts cover earlier ones)."""

    mounts: list[MountInfo] = field(default_factory=list)
    has_devices: bool = False  # entries carry (major, minor): st_dev can confirm a match

    @classmethod
    def read(cls) -> MountTable:
        if sys.platform.startswith("linux"):
            try:
                with open(MOUNTINFO, "rb") as handle:
                    return cls(parse_mountinfo(handle.read()), has_devices=True)
            except OSError:
                pass  # no /proc (chroot, restricted container): psutil may still know
        return cls(_psutil_mounts())

    def mount_of(self, path: str | os.PathLike[str]) -> MountInfo | None:
        """The mount holding ``path``: longest prefix of its real path, checked with st_dev."""
        real = _realpath(path)
        if real is None:
            return None
        return self.lookup(real, _st_dev_of_nearest(real))

    def lookup(self, real_path: str, dev: int | None = None) -> MountInfo | None:
        """The mount for an already resolved path whose st_dev (if known) is ``dev``."""
        candidates = self._prefix_candidates(real_path)
        if not candidates:
            return None
        if dev is not None:
            for mount in candidates:
                if self._same_device(mount, dev):
                    return mount
        # No confirmation possible (btrfs subvolumes and overlay report other st_dev
        # numbers than the table): the longest prefix is still the best answer.
        return candidates[0]

    def is_mount_point(self, path: str | os.PathLike[str]) -> bool:
        try:
            if os.path.islink(path):
                return False  # the link is not mounted on; its target may be
            real = _realpath(path)
            return real is not None and self.is_resolved_mount_point(real, os.lstat(real))
        except OSError:
            return False

    def is_resolved_mount_point(self, real: str, lst: os.stat_result) -> bool:
        """``is_mount_point`` for a directory that is no symlink, given resolved (``real``,
        as ``os.path.realpath`` gives it) with its ``os.lstat``: a caller probing many
        directories resolves each once, not three times."""
        if any(_same_path(m.mount_point, real) for m in self.mounts):
            return True
        # Catches mounts the table missed (psutil lists only "physical" ones on some
        # platforms); blind to bind mounts of the same filesystem, which the table sees.
        # os.path.ismount's test, with the lstat in hand; the parent of a resolved path is
        # its dirname (ismount resolves path/.. again).
        try:
            parent = os.lstat(os.path.dirname(real))
        except (OSError, ValueError):
            return False
        return lst.st_dev != parent.st_dev or lst.st_ino == parent.st_ino

    def describe_device(self, path: str | os.PathLike[str]) -> str:
        mount = self.mount_of(path)
        return mount.describe() if mount else ""

    def _prefix_candidates(self, real: str) -> list[MountInfo]:
        # Longest mount point first; among equal ones the latest mount is the visible one.
        indexed = [(i, m) for i, m in enumerate(self.mounts) if _is_within(real, m.mount_point)]
        indexed.sort(key=lambda im: (len(_norm(im[1].mount_point).rstrip(os.sep)), im[0]))
        return [m for _, m in reversed(indexed)]

    def _same_device(self, mount: MountInfo, dev: int) -> bool:
        if self.has_devices:
            return mount.device == (os.major(dev), os.minor(dev))
        try:
            return os.stat(mount.mount_point).st_dev == dev
        except OSError:
            return False


def parse_mountinfo(text: bytes | str) -> list[MountInfo]:
    """Parse ``/proc/<pid>/mountinfo``; lines that do not follow the format are skipped."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    mounts = []
    for line in data.splitlines():
        mount = _parse_mountinfo_line(line)
        if mount is not None:
            mounts.append(mount)
    return mounts


def _parse_mountinfo_line(line: bytes) -> MountInfo | None:
    # ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    # The optional fields (shared:N, master:N, ...) vary in number, hence the separator.
    fields = line.split(b" ")
    try:
        sep = fields.index(b"-", 6)
    except ValueError:
        return None
    if len(fields) < sep + 3:
        return None
    try:
        mount_id, parent_id = int(fields[0]), int(fields[1])
        major, _, minor = fields[2].partition(b":")
        device = (int(major), int(minor))
    except ValueError:
        return None
    super_options = fields[sep + 3] if len(fields) > sep + 3 else b""
    return MountInfo(
        mount_point=_unescape(fields[4]),
        source=_unescape(fields[sep + 2]),
        fstype=_unescape(fields[sep + 1]),
        options=_split_options(fields[5]),
        super_options=_split_options(super_options),
        device=device,
        root=_unescape(fields[3]),
        mount_id=mount_id,
        parent_id=parent_id,
    )


def _unescape(field_bytes: bytes) -> str:
    # The kernel escapes space, tab, newline and backslash as \ooo; paths are bytes, so
    # undo that on bytes and decode like the rest of Python's os module does.
    raw = _OCTAL_ESCAPE.sub(lambda m: bytes((int(m.group(1), 8) & 0xFF,)), field_bytes)
    return os.fsdecode(raw)


def _split_options(field_bytes: bytes) -> tuple[str, ...]:
    return tuple(o for o in _unescape(field_bytes).split(",") if o)


def _psutil_mounts() -> list[MountInfo]:
    try:
        import psutil

        parts: Iterable = psutil.disk_partitions(all=True)
    except Exception:  # noqa: BLE001 - no table at all is a state, not a crash
        return []
    return [
        MountInfo(
            mount_point=p.mountpoint,
            source=p.device or "none",
            fstype=p.fstype or "unknown",
            options=tuple(o for o in (p.opts or "").split(",") if o),
        )
        for p in parts
    ]


def mount_of(path: str | os.PathLike[str], table: MountTable | None = None) -> MountInfo | None:
    """The mount ``path`` lives on (reads the mount table unless one is given)."""
    return (table or MountTable.read()).mount_of(path)


def is_mount_point(path: str | os.PathLike[str], table: MountTable | None = None) -> bool:
    return (table or MountTable.read()).is_mount_point(path)


def describe_device(path: str | os.PathLike[str], table: MountTable | None = None) -> str:
    """Like "/dev/vda on / (ext4)"; "" when nothing is known."""
    return (table or MountTable.read()).describe_device(path)


def _realpath(path: str | os.PathLike[str]) -> str | None:
    try:
        return os.path.realpath(os.fspath(path))
    except (OSError, ValueError):
        return None


def _st_dev_of_nearest(real: str) -> int | None:
    """st_dev of the path or, for a path not there yet, of its nearest existing ancestor."""
    current = real
    while True:
        try:
            return os.stat(current).st_dev
        except FileNotFoundError:
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent
        except OSError:
            return None


def _norm(path: str) -> str:
    return os.path.normcase(path)


def _same_path(a: str, b: str) -> bool:
    return _norm(a).rstrip(os.sep) == _norm(b).rstrip(os.sep)


def _is_within(path: str, mount_point: str) -> bool:
    p, m = _norm(path), _norm(mount_point).rstrip(os.sep)
    return p == m or p.startswith(m + os.sep)
