"""Quick rescan: re-list only the directories that changed since an earlier scan.

A directory whose inode, mtime and ctime are what the earlier scan saw has had no entry
added, removed or renamed, so its earlier listing still holds and only its
subdirectories need a look (one ``lstat`` each). What a quick rescan cannot see: a file
changed in place (a log that grew), which changes no directory. The report says which
figures come from a quick rescan; a full scan is always one key away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from omero_tui.core.record import replace
from omero_tui.core.usage.assemble import WalkResult, add_days, assemble
from omero_tui.core.usage.model import UsageScan
from omero_tui.core.usage.plan import ScanPlan, plan_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.rootwalk import add_record_days
from omero_tui.core.usage.scan import Progress, ProgressCallback, scan_usage
from omero_tui.core.usage.storedwalk import StoredWalk
from omero_tui.core.usage.table import RecordTable
from omero_tui.core.usage.walk import L_DEV, L_INO, L_NLINK


def quick_rescan(
    previous: UsageScan | WalkResult,
    managed_dir: str | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
    pool: ScanPool | None = None,
) -> UsageScan:
    """Rescan ``previous.data_dir``, reusing ``previous`` wherever a directory is unchanged.

    A new hard link whose other paths were not seen may point at a file that an unchanged
    directory counted as unlinked: that cannot be settled without reading them all, so
    the quick rescan then becomes a full scan (and says why in ``fallback``).
    """
    old = previous.raw if isinstance(previous, UsageScan) else previous
    if not isinstance(old, WalkResult):
        raise ValueError("a quick rescan needs a scan made in this version (or its cache)")
    try:
        return _quick(old, managed_dir, progress, cancel, clock)
    except _NeedFullScan as reason:
        scan = scan_usage(
            old.plan.data_dir,
            managed_dir,
            pool=pool,
            previous=old,
            progress=progress,
            cancel=cancel,
            clock=clock,
        )
        return replace(scan, fallback=str(reason))


class _NeedFullScan(Exception):
    pass


def _quick(
    old: WalkResult,
    managed_dir: str | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    clock: Callable[[], float],
) -> UsageScan:
    started = clock()
    plan = plan_scan(old.plan.data_dir, managed_dir)
    old_index = {root.path: i for i, root in enumerate(old.plan.roots)}
    records: list[dict[str, tuple]] = [{} for _ in plan.roots]
    links: list[list[tuple]] = [[] for _ in plan.roots]
    problems: list[tuple[str, str, str]] = []
    mounts: list[tuple[int, str]] = []
    listed: list[tuple[int, str]] = []
    marks: list[tuple[int, str, str]] = []
    # Whether this walk found exactly what the earlier one stored (then its cache file
    # need not be written again, only when this rescan ran).
    same = plan == old.plan
    # Start from the earlier figures by day and correct them directory by directory:
    # a copy made at the first correction (an unchanged tree needs none), so that the
    # earlier walk's stay as they were.
    days = old.days

    def correct(of_plan: ScanPlan, root: int, found: dict, sign: int = 1) -> None:
        nonlocal days
        if not found:
            return
        if days is old.days:
            days = {n: dict(d) for n, d in old.days.items()}
        add_days(days, of_plan, root, found, sign)

    counter = Progress(progress, sum(len(r) for r in old.records), quick=True)
    for index, root in enumerate(plan.roots):
        before = old_index.get(root.path)
        walker = StoredWalk(
            index, root.path, root.dev, old, before, cancel, plan.pixels_watch(index)
        )
        table = None
        if before is not None:
            table = RecordTable.of(old.records[before])
        if table is None or not walker.run_stored(table, counter):
            walker.run(counter)
        same = same and table is not None and walker.records is table
        records[index], links[index] = walker.records, walker.links
        problems.extend(walker.problems)
        mounts.extend((index, rel) for rel in walker.mounts)
        listed.extend((index, rel) for rel in walker.listed)
        marks.extend((index, rel, name) for rel, name in walker.marks)
        correct(plan, index, walker.new_days)
        if before is not None:
            correct(old.plan, before, walker.dropped_days, sign=-1)
    for index, root in enumerate(old.plan.roots):
        if root.path not in {r.path for r in plan.roots}:  # a tree no longer walked
            gone = {}
            for record in old.records[index].values():
                add_record_days(gone, record)
            correct(old.plan, index, gone, sign=-1)
    _check_new_links(old, links)
    counter.report(force=True)
    reused = sum(len(r) for r in records) - len(listed)
    same = same and (links, problems, mounts) == (old.links, old.problems, old.mounts)
    walk = WalkResult(
        plan=plan,
        records=records,
        links=links,
        problems=problems,
        mounts=mounts,
        days=days,
        # What a full walk would see, for the next full scan's percentage.
        entries=old.entries if reused else counter.entries,
        started_at=started,
        finished_at=clock(),
        quick=True,
        # The reused figures are as old as the full scan they first came from.
        full_scan_at=(old.full_scan_at or old.started_at) if reused else None,
        listed=frozenset(listed),
        # Unchanged directories keep the lock files they had: a lock file made or
        # removed changes its directory. An earlier scan that did not look knows none.
        pyramid_locks=None if old.pyramid_locks is None else tuple(sorted(marks)),
    )
    if same and walk.pyramid_locks == old.pyramid_locks and walk.entries == old.entries:
        walk = replace(walk, stored_as=old.stored_as)
    return assemble(walk)


def _check_new_links(old: WalkResult, links: list[list[tuple]]) -> None:
    known = {(link[L_DEV], link[L_INO]) for found in old.links for link in found}
    paths: dict[tuple[int, int], int] = {}
    for found in links:
        for link in found:
            key = (link[L_DEV], link[L_INO])
            paths[key] = paths.get(key, 0) + 1
    for found in links:
        for link in found:
            key = (link[L_DEV], link[L_INO])
            if key not in known and link[L_NLINK] > paths[key]:
                raise _NeedFullScan(
                    "a new hard link appeared whose other paths may be in unchanged directories"
                )
