"""What a usage scan walks: the data dir and whatever of the repository lives elsewhere.

The data dir is walked like ``du -x``. A top-level subdirectory that is a symlink or
a mount point holds repository data all the same, so it becomes a tree of its own,
walked at its target on its own filesystem; so does a managed dir kept outside the
data dir. Each top-level subdirectory is one row ("unit") of the usage table.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from omero_tui.core.layout import STANDARD_SUBDIRS
from omero_tui.core.usage_model import ScanRoot

MANAGED_ELSEWHERE = "managed dir"  # the row of a managed dir outside the data dir


class UsageError(Exception):
    """The scan cannot start (no data dir, say); ``str(err)`` is one line for the admin."""


@dataclass(frozen=True)
class UnitSpec:
    name: str
    path: str  # as the admin knows it
    kind: str  # "directory" | "symlink" | "mount point" | "managed dir elsewhere"
    target: str | None  # the real path walked, when it differs from ``path``
    root: int
    rel: str


@dataclass(frozen=True)
class ScanPlan:
    data_dir: str
    roots: tuple[ScanRoot, ...]
    units: tuple[UnitSpec, ...]
    managed: tuple[int, str] | None  # where the managed dir is in the walked trees
    managed_unit: str | None  # the row that holds it


def plan_scan(data_dir: str, managed_dir: str | None = None) -> ScanPlan:
    """``managed_dir`` None means OMERO's default, ``<data dir>/ManagedRepository``."""
    data_dir = os.path.abspath(data_dir)
    if managed_dir is None:
        managed_dir = os.path.join(data_dir, "ManagedRepository")
    real = os.path.realpath(data_dir)
    try:
        st = os.stat(real)
    except FileNotFoundError as err:
        raise UsageError(f"the data dir {data_dir} does not exist") from err
    except OSError as err:
        raise UsageError(f"cannot read the data dir {data_dir}: {err.strerror}") from err
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"the data dir {data_dir} is not a directory")
    roots = [ScanRoot("", real, "data dir", st.st_dev)]
    units: list[UnitSpec] = []
    try:
        with os.scandir(real) as entries:
            listed = sorted(entries, key=lambda e: e.name)
    except OSError as err:
        raise UsageError(f"cannot list the data dir {data_dir}: {err.strerror}") from err
    for entry in listed:
        unit = _unit(entry, data_dir, real, roots)
        if unit is not None:
            units.append(unit)
    managed, managed_unit = _managed(managed_dir, roots, units)
    order = {name: i for i, (name, _) in enumerate(STANDARD_SUBDIRS)}
    units.sort(key=lambda u: (order.get(u.name, len(order)), u.name))
    return ScanPlan(data_dir, tuple(roots), tuple(units), managed, managed_unit)


def _unit(entry: os.DirEntry, data_dir: str, real: str, roots: list[ScanRoot]) -> UnitSpec | None:
    shown = os.path.join(data_dir, entry.name)
    try:
        if entry.is_symlink():
            st = os.stat(entry.path)  # what it leads to; a broken link is no directory
            if not stat.S_ISDIR(st.st_mode):
                return None
            target = os.path.realpath(entry.path)
            if _is_within(real, target):
                return None  # a link up the tree (to / say): following it walks the disk
            root, rel = _place(target, roots)
            if root is None:
                roots.append(ScanRoot(entry.name, target, "symlink", st.st_dev))
                root, rel = len(roots) - 1, ""
            return UnitSpec(entry.name, shown, "symlink", target, root, rel)
        if not entry.is_dir(follow_symlinks=False):
            return None
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return None  # vanished or unreadable: the walk of the data dir reports it
    if st.st_dev != roots[0].dev:
        roots.append(ScanRoot(entry.name, os.path.join(real, entry.name), "mount point", st.st_dev))
        return UnitSpec(entry.name, shown, "mount point", None, len(roots) - 1, "")
    return UnitSpec(entry.name, shown, "directory", None, 0, entry.name)


def _place(real_path: str, roots: list[ScanRoot]) -> tuple[int | None, str]:
    """(root, rel) of a real path already inside a walked tree, else (None, "")."""
    for index, root in enumerate(roots):
        if _is_within(real_path, root.path):
            rel = os.path.relpath(real_path, root.path)
            return index, "" if rel == "." else rel
    return None, ""


def _is_within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _managed(
    managed_dir: str | None, roots: list[ScanRoot], units: list[UnitSpec]
) -> tuple[tuple[int, str] | None, str | None]:
    if not managed_dir:
        return None, None
    real = os.path.realpath(managed_dir)
    root, rel = _place(real, roots)
    if root is not None:
        top = rel.split("/", 1)[0] if rel else None
        return (root, rel), (top if root == 0 else roots[root].name)
    try:
        st = os.stat(real)
    except OSError:
        return None, None
    if not stat.S_ISDIR(st.st_mode):
        return None, None
    roots.append(ScanRoot(MANAGED_ELSEWHERE, real, "managed dir elsewhere", st.st_dev))
    shown = os.path.abspath(managed_dir)
    target = real if real != shown else None
    units.append(
        UnitSpec(MANAGED_ELSEWHERE, shown, "managed dir elsewhere", target, len(roots) - 1, "")
    )
    return (len(roots) - 1, ""), MANAGED_ELSEWHERE
