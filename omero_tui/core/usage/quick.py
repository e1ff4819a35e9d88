"""Quick rescan: re-list only the directories that changed since an earlier scan.

A directory whose inode, mtime and ctime are what the earlier scan saw has had no entry
added, removed or renamed, so its earlier listing still holds and only its
subdirectories need a look (one ``lstat`` each). What a quick rescan cannot see: a file
changed in place (a log that grew), which changes no directory. The report says which
figures come from a quick rescan; a full scan is always one key away.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from omero_tui.core.usage.assemble import WalkResult, add_days, assemble, record_days
from omero_tui.core.usage.model import ScanCancelled, UsageScan
from omero_tui.core.usage.plan import plan_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import Progress, ProgressCallback, scan_usage
from omero_tui.core.usage.walk import (
    BLOCKS,
    CTIME,
    DAY,
    FILES,
    INO,
    L_DEV,
    L_INO,
    L_NAME,
    L_NLINK,
    L_REL,
    MTIME,
    OWN_BLOCKS,
    S_IFDIR,
    S_IFMT,
    join,
    list_directory,
    own_of,
)

CHECK_CANCEL_EVERY = 256  # directories between looks at the cancel flag


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
    reused: set[tuple[int, str]] = set()
    # Start from the earlier figures by day and correct them directory by directory.
    days: dict[str, dict[int, int]] = {n: dict(d) for n, d in old.days.items()}
    counter = Progress(progress, sum(len(r) for r in old.records), quick=True)
    for index, root in enumerate(plan.roots):
        before = old_index.get(root.path)
        walker = _RootWalk(index, root.path, root.dev, old, before, cancel)
        walker.run(counter)
        records[index], links[index] = walker.records, walker.links
        problems.extend(walker.problems)
        mounts.extend((index, rel) for rel in walker.mounts)
        reused.update((index, rel) for rel in walker.reused)
        add_days(days, plan, index, walker.new_days)
        if before is not None:
            add_days(days, old.plan, before, walker.dropped_days, sign=-1)
    for index, root in enumerate(old.plan.roots):
        if root.path not in {r.path for r in plan.roots}:  # a tree no longer walked
            gone = {}
            for record in old.records[index].values():
                _add_record_days(gone, record)
            add_days(days, old.plan, index, gone, sign=-1)
    _check_new_links(old, links)
    counter.report(force=True)
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
        reused=frozenset(reused),
    )
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


def _add_record_days(days: dict[str, dict[int, int]], record: tuple) -> None:
    row = days.setdefault(record[0].partition("/")[0], {})
    for day, blocks in record_days(record).items():
        row[day] = row.get(day, 0) + blocks


class _RootWalk:
    """One root: reuse what is unchanged, list the rest, note what the days gained/lost."""

    def __init__(
        self,
        index: int,
        path: str,
        dev: int,
        old: WalkResult,
        before: int | None,
        cancel: threading.Event | None,
    ) -> None:
        self.index, self.path, self.dev, self.cancel = index, path, dev, cancel
        self.old_records = old.records[before] if before is not None else {}
        self.old_links: dict[str, list[tuple]] = {}
        for link in old.links[before] if before is not None else []:
            self.old_links.setdefault(link[L_REL], []).append(link)
        self.old_problems: dict[str, list[tuple[str, str, str]]] = {}
        if before is not None:
            root_path = old.plan.roots[before].path
            for problem in old.problems:
                if problem[0] == root_path or problem[0].startswith(root_path + "/"):
                    self.old_problems.setdefault(problem[0], []).append(problem)
        self.old_mounts: dict[str, list[str]] = {}
        for root, rel in old.mounts if before is not None else []:
            if root == before:
                self.old_mounts.setdefault(rel.rpartition("/")[0], []).append(rel)
        self.old_children: dict[str, list[str]] = {}
        for rel in self.old_records:
            if rel:
                self.old_children.setdefault(rel.rpartition("/")[0], []).append(rel)
        self.records: dict[str, tuple] = {}
        self.links: list[tuple] = []
        self.problems: list[tuple[str, str, str]] = []
        self.mounts: list[str] = []
        self.reused: list[str] = []
        self.new_days: dict[str, dict[int, int]] = {}  # by first component, like a walk
        self.dropped_days: dict[str, dict[int, int]] = {}

    def run(self, counter: Progress) -> None:
        try:
            stack = [("", own_of(os.lstat(self.path)))]
        except OSError as err:
            self.problems.append((self.path, self.path, err.strerror or str(err)))
            self.records[""] = ("", 0, 0, 0, 0, 0, 0, 0, 0, 1, b"")
            stack = []
        # The loop below runs once per directory of the repository, most of them
        # unchanged: it is written for that case (locals, no call per directory, the
        # progress counted in batches).
        old_records, records, reused = self.old_records, self.records, self.reused
        old_children, old_mounts, old_links = self.old_children, self.old_mounts, self.old_links
        base, dev, lstat = self.path + "/", self.dev, os.lstat
        done = same = same_files = same_blocks = 0
        while stack:
            rel, own = stack.pop()
            done += 1
            if done % CHECK_CANCEL_EVERY == 0:
                counter.add_reused(same, same_files, same_blocks)
                same = same_files = same_blocks = 0
                if self.cancel is not None and self.cancel.is_set():
                    raise ScanCancelled()
                counter.report()
            before = old_records.get(rel)
            if (
                before is not None
                and before[INO] == own[0]
                and before[MTIME] == own[1]
                and before[CTIME] == own[2]
            ):
                record = records[rel] = (rel, *own, *before[6:])
                reused.append(rel)
                same += 1
                same_files += record[FILES]
                same_blocks += record[OWN_BLOCKS] + record[BLOCKS]
                if old_links and rel in old_links:
                    self._relink(rel)
                if self.old_problems:
                    self.problems.extend(self.old_problems.get(join(self.path, rel), ()))
                # Mounting and unmounting change no directory's mtime, so every child
                # that was a mount point is looked at again like the others: one
                # unmounted since is a plain directory now (with what was hidden under
                # the mount), walked anew.
                children = old_children.get(rel, ())
                if old_mounts and rel in old_mounts:
                    children = (*children, *old_mounts[rel])
                for child in children:
                    try:
                        st = lstat(base + child)
                    except FileNotFoundError:
                        continue  # went between our two looks; the parent's mtime says so next
                    except OSError as err:
                        self.problems.append(
                            (join(self.path, rel), join(self.path, child), str(err))
                        )
                        continue
                    if st.st_mode & S_IFMT != S_IFDIR:
                        continue
                    if st.st_dev != dev:
                        self.mounts.append(child)
                        continue
                    seen_now = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_blocks)
                    stack.append((child, seen_now))
                continue
            if before is not None:
                _add_record_days(self.dropped_days, before)
            row = self.new_days.setdefault(rel.partition("/")[0], {})
            found_mounts: list[str] = []
            record, subdirs, seen = list_directory(
                self.path, rel, own, self.dev, self.links, self.problems, found_mounts, row
            )
            records[rel] = record
            self.mounts.extend(found_mounts)
            stack.extend(subdirs)
            counter.add([record], seen)
        counter.add_reused(same, same_files, same_blocks)
        # Directories the earlier scan had and this one did not reach are gone.
        for rel, record in old_records.items():
            if rel not in records:
                _add_record_days(self.dropped_days, record)

    def _relink(self, rel: str) -> None:
        """Look again at the hard links an unchanged directory holds: few, and their
        link count may have changed without any directory changing."""
        for link in self.old_links[rel]:
            try:
                st = os.lstat(join(join(self.path, rel), link[L_NAME]))
            except OSError:
                continue
            self.links.append(
                (
                    st.st_dev,
                    st.st_ino,
                    st.st_nlink,
                    st.st_size,
                    st.st_blocks,
                    st[8] // DAY,
                    rel,
                    link[L_NAME],
                )
            )
