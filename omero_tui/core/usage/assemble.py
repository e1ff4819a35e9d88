"""Turn a walk's raw records into a :class:`UsageScan` (after a scan, or from the cache)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

from omero_tui.core.record import frozen, replace
from omero_tui.core.usage.model import Growth, UnitUsage, UsageScan
from omero_tui.core.usage.plan import ScanPlan, UnitSpec
from omero_tui.core.usage.table import RecordTable
from omero_tui.core.usage.tree import UsageTree
from omero_tui.core.usage.walk import HIST, join, unpack_hist, watched

# OMERO's default omero.fs.repo.path: %user%_%userId%/%year%-%month%/%day%/%time%/...
_MONTH_DIR = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_DIR = re.compile(r"^(\d{2})$")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@frozen
class WalkResult:
    """Everything a walk produced, before the sums: what the cache stores, too."""

    plan: ScanPlan
    records: Sequence[Mapping[str, tuple]]  # per root: a dict or a RecordTable
    links: list[list[tuple]]  # per root
    problems: list[tuple[str, str, str]]  # (directory listed, path, reason)
    mounts: list[tuple[int, str]]  # (root, rel) of other filesystems met below a root
    days: dict[str, dict[int, int]]  # per row, blocks of (unlinked) files by mtime day
    entries: int
    started_at: float
    finished_at: float
    quick: bool = False
    full_scan_at: float | None = None
    # A quick rescan's directories listed anew (root, rel); all others it took from the
    # earlier scan. (Kept this way round: few are listed, most are reused.)
    listed: frozenset[tuple[int, str]] = frozenset()
    # (root, rel, name) of the pyramid lock files under Pixels; None: not looked for.
    pyramid_locks: tuple[tuple[int, str, str], ...] | None = None
    # The cache file this walk's records, links, problems and days are stored in as
    # they are (see cache.py): then a save need not write them again.
    stored_as: bytes | None = None

    @property
    def reused_dirs(self) -> int:
        """Directories a quick rescan took from the earlier scan (0 for a full scan)."""
        return sum(len(r) for r in self.records) - len(self.listed) if self.quick else 0


def assemble(walk: WalkResult) -> UsageScan:
    # The records as tables (table.py), made once here: the sums read from them, the
    # cache stores them as they are, and a quick rescan compares against them.
    tables = [RecordTable.of(records) for records in walk.records]
    if any(t is not r for t, r in zip(tables, walk.records, strict=True)):
        walk = replace(walk, records=tables)
    plan = walk.plan
    tree = UsageTree(plan.roots, walk.records, walk.links)
    listed_by_unit = _listed_by_unit(walk, plan.units)
    units = tuple(
        UnitUsage(
            name=u.name,
            path=u.path,
            kind=u.kind,
            target=u.target,
            totals=tree.totals(u.root, u.rel),
            root=u.root,
            rel=u.rel,
            reused=walk.quick and listed_by_unit.get(u.name, 0) == 0,
        )
        for u in plan.units
    )
    # Mount points walked as trees of their own (a top-level mount, a managed dir on
    # its own volume) are rows, not filesystems left out.
    followed = {r.path for r in plan.roots[1:]}
    nested = tuple(
        sorted(p for p in (tree.path(root, rel) for root, rel in walk.mounts) if p not in followed)
    )
    return UsageScan(
        data_dir=plan.data_dir,
        roots=plan.roots,
        units=units,
        totals=tree.repository,
        started_at=walk.started_at,
        finished_at=walk.finished_at,
        quick=walk.quick,
        full_scan_at=walk.full_scan_at if walk.full_scan_at is not None else walk.started_at,
        reused_dirs=walk.reused_dirs,
        listed_dirs=tree.dir_count - walk.reused_dirs,
        problems=tuple(walk.problems),
        nested_mounts=nested,
        external_links=tree.external_links(),
        growth=growth_of(tree, plan, walk.days),
        tree=tree,
        entries=walk.entries,
        raw=walk,
    )


def _listed_by_unit(walk: WalkResult, units: Sequence[UnitSpec]) -> dict[str, int]:
    if not walk.quick:
        return {}
    counts = {unit.name: 0 for unit in units}
    for root in range(len(walk.records)):
        listed = [rel for where, rel in walk.listed if where == root]
        for unit in units:
            if unit.root != root:
                continue
            prefix = unit.rel + "/" if unit.rel else ""
            counts[unit.name] += sum(
                1 for rel in listed if rel == unit.rel or rel.startswith(prefix)
            )
    return counts


def unit_of(plan: ScanPlan, root: int, rel: str) -> str:
    """The row a directory belongs to ("" for the data dir's own top level)."""
    if root == 0:
        return rel.split("/", 1)[0] if rel else ""
    return plan.roots[root].name


def add_days(
    days: dict[str, dict[int, int]], plan: ScanPlan, root: int, found: dict, sign: int = 1
) -> None:
    """Add (or with ``sign=-1`` take away) a walk's blocks by day, keyed by first component."""
    for component, counts in found.items():
        row = days.setdefault(component if root == 0 else plan.roots[root].name, {})
        for day, blocks in counts.items():
            row[day] = row.get(day, 0) + sign * blocks


def record_days(record: tuple) -> dict[int, int]:
    return dict(unpack_hist(record[HIST])) if record[HIST] else {}


def growth_of(tree: UsageTree, plan: ScanPlan, walk_days: dict[str, dict[int, int]]) -> Growth:
    by_unit = {
        name: {day: blocks * 512 for day, blocks in counts.items() if blocks}
        for name, counts in walk_days.items()
    }
    total: dict[int, int] = {}
    for row in by_unit.values():
        for day, size in row.items():
            total[day] = total.get(day, 0) + size
    for inode in tree.inodes.values():
        size = inode.blocks * 512
        total[inode.day] = total.get(inode.day, 0) + size
        for name in {unit_of(plan, root, rel) for root, rel, _ in inode.paths}:
            days = by_unit.setdefault(name, {})
            days[inode.day] = days.get(inode.day, 0) + size
    return Growth(
        by_mtime=by_unit,
        total_by_mtime=total,
        managed_by_import=_import_days(tree, plan),
        managed_unit=plan.managed_unit,
    )


def _import_days(tree: UsageTree, plan: ScanPlan) -> dict[int, int]:
    """Allocated bytes by import day, read from the fileset directories' names."""
    if plan.managed is None:
        return {}
    root, base = plan.managed
    prefix = base + "/" if base else ""
    depth = base.count("/") + 3 if base else 2  # slashes in a day directory's rel
    records = tree.records[root]
    names: Sequence[str] = records
    if isinstance(records, RecordTable) and records.preorder:
        span = records.span(base)  # all below base, and nothing else
        if span is not None:
            names = records.names[span[0] : span[1]]
    days: dict[int, int] = {}
    for rel in names:
        if rel.count("/") != depth or not rel.startswith(prefix):
            continue
        _, month_dir, day_dir = rel[len(prefix) :].split("/")
        month, day = _MONTH_DIR.match(month_dir), _DAY_DIR.match(day_dir)
        if not (month and day):
            continue
        try:
            when = date(int(month[1]), int(month[2]), int(day[1]))
        except ValueError:
            continue
        n = when.toordinal() - _EPOCH_ORDINAL
        days[n] = days.get(n, 0) + tree.totals(root, rel).allocated_bytes
    return days


def pyramid_lock_paths(walk: WalkResult) -> list[str] | None:
    """The pyramid lock files the walk met under Pixels, as paths; None when it did not
    look everywhere a pyramid can be (a scan that did not look, or another filesystem
    mounted under Pixels, which a ``du -x`` walk leaves out)."""
    if walk.pyramid_locks is None:
        return None
    plan = walk.plan
    if any(watched(rel, plan.pixels_watch(root)) for root, rel in walk.mounts):
        return None
    return sorted(
        join(join(plan.roots[root].path, rel), name) for root, rel, name in walk.pyramid_locks
    )
