"""What a usage scan walks: the data dir and whatever of the repository lives elsewhere.

The data dir is walked like ``du -x``. A top-level subdirectory that is a symlink or
a mount point holds repository data all the same, so it becomes a tree of its own,
walked at its target on its own filesystem; so does a managed dir kept outside the
data dir. Each top-level subdirectory is one row ("unit") of the usage table.
"""

from __future__ import annotations

import os
import stat

from omero_tui.core.layout.subdirs import STANDARD_SUBDIRS
from omero_tui.core.record import frozen
from omero_tui.core.usage.model import ScanRoot

MANAGED_ELSEWHERE = "managed dir"  # the row of a managed dir outside the data dir


class UsageError(Exception):
    """The scan cannot start (no data dir, say); ``str(err)`` is one line for the admin."""


@frozen
class UnitSpec:
    name: str
    path: str  # as the admin knows it
    kind: str  # "directory" | "symlink" | "mount point" | "managed dir elsewhere"
    target: str | None  # the real path walked, when it differs from ``path``
    root: int
    rel: str


@frozen
class ScanPlan:
    data_dir: str
    roots: tuple[ScanRoot, ...]
    units: tuple[UnitSpec, ...]
    managed: tuple[int, str] | None  # where the managed dir is in the walked trees
    managed_unit: str | None  # the row that holds it

    def pixels_watch(self, root: int) -> str | None:
        """Where pyramids are written in tree ``root`` (its Pixels row; see walk.watched)."""
        for unit in self.units:
            if unit.name == "Pixels" and unit.root == root:
                return unit.rel
        return None


@frozen
class _Followed:
    """A tree outside the data dir's own walk: where it is and the row it feeds."""

    name: str
    shown: str
    kind: str
    target: str  # the real path
    dev: int
    unit_target: str | None  # UnitSpec.target


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
    followed: list[_Followed] = []
    try:
        with os.scandir(real) as entries:
            listed = sorted(entries, key=lambda e: e.name)
    except OSError as err:
        raise UsageError(f"cannot list the data dir {data_dir}: {err.strerror}") from err
    for entry in listed:
        found = _unit(entry, data_dir, real, st.st_dev)
        if isinstance(found, UnitSpec):
            units.append(found)
        elif found is not None:
            followed.append(found)
    managed = _managed_elsewhere(managed_dir, real, followed)
    # Outer trees first, so a target inside another one (a symlink into a top-level
    # mount, two links into one volume) becomes a part of it, never a second walk of
    # the same files.
    for tree in sorted(followed, key=lambda f: (len(f.target), f.name)):
        root, rel = _place(tree.target, tree.dev, roots)
        if root is None:
            roots.append(ScanRoot(tree.name, tree.target, tree.kind, tree.dev))
            root, rel = len(roots) - 1, ""
        units.append(UnitSpec(tree.name, tree.shown, tree.kind, tree.unit_target, root, rel))
    where, managed_unit = _managed(managed, roots, units)
    order = {name: i for i, (name, _) in enumerate(STANDARD_SUBDIRS)}
    units.sort(key=lambda u: (order.get(u.name, len(order)), u.name))
    return ScanPlan(data_dir, tuple(roots), tuple(units), where, managed_unit)


def _unit(entry: os.DirEntry, data_dir: str, real: str, dev: int) -> UnitSpec | _Followed | None:
    shown = os.path.join(data_dir, entry.name)
    try:
        if entry.is_symlink():
            st = os.stat(entry.path)  # what it leads to; a broken link is no directory
            if not stat.S_ISDIR(st.st_mode):
                return None
            target = os.path.realpath(entry.path)
            if _is_within(real, target):
                return None  # a link up the tree (to / say): following it walks the disk
            return _Followed(entry.name, shown, "symlink", target, st.st_dev, target)
        if not entry.is_dir(follow_symlinks=False):
            return None
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return None  # vanished or unreadable: the walk of the data dir reports it
    if st.st_dev != dev:
        target = os.path.join(real, entry.name)
        return _Followed(entry.name, shown, "mount point", target, st.st_dev, None)
    return UnitSpec(entry.name, shown, "directory", None, 0, entry.name)


def _place(real_path: str, dev: int, roots: list[ScanRoot]) -> tuple[int | None, str]:
    """(root, rel) of a real path inside a walked tree, else (None, "").

    The innermost tree on the path's own filesystem: a walk stays on its filesystem,
    so a path below a mount point is not in the tree around the mount point.
    """
    inside = [i for i, r in enumerate(roots) if r.dev == dev and _is_within(real_path, r.path)]
    if not inside:
        return None, ""
    best = max(inside, key=lambda i: len(roots[i].path))
    rel = os.path.relpath(real_path, roots[best].path)
    return best, "" if rel == "." else rel


def _is_within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _rel_within(rel: str, top: str) -> bool:
    return not top or rel == top or rel.startswith(top + "/")


def _managed_elsewhere(
    managed_dir: str | None, real: str, followed: list[_Followed]
) -> tuple[str, str, int] | None:
    """(as given, real path, dev) of the managed dir; outside every tree, it is followed."""
    if not managed_dir:
        return None
    path = os.path.realpath(managed_dir)
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    shown = os.path.abspath(managed_dir)
    if not any(_is_within(path, top) for top in (real, *(f.target for f in followed))):
        followed.append(_follow_managed(shown, path, st.st_dev))
    return shown, path, st.st_dev


def _follow_managed(shown: str, path: str, dev: int) -> _Followed:
    target = path if path != shown else None
    return _Followed(MANAGED_ELSEWHERE, shown, "managed dir elsewhere", path, dev, target)


def _managed(
    managed: tuple[str, str, int] | None, roots: list[ScanRoot], units: list[UnitSpec]
) -> tuple[tuple[int, str] | None, str | None]:
    """Where the managed dir is in the walked trees, and the row that holds it."""
    if managed is None:
        return None, None
    shown, path, dev = managed
    root, rel = _place(path, dev, roots)
    if root is None:  # inside a tree, but on a filesystem mounted below its top
        roots.append(ScanRoot(MANAGED_ELSEWHERE, path, "managed dir elsewhere", dev))
        tree = _follow_managed(shown, path, dev)
        root, rel = len(roots) - 1, ""
        units.append(UnitSpec(tree.name, tree.shown, tree.kind, tree.unit_target, root, rel))
    if root == 0:
        return (root, rel), (rel.split("/", 1)[0] if rel else None)
    # The row whose tree holds it, the innermost one (a row may lie inside another's).
    holders = [u for u in units if u.root == root and _rel_within(rel, u.rel)]
    best = max(holders, key=lambda u: len(u.rel), default=None)
    return (root, rel), (best.name if best else roots[root].name)
