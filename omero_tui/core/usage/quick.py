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
from collections.abc import Callable, Mapping
from dataclasses import replace

from omero_tui.core.usage.assemble import WalkResult, add_days, assemble, record_days
from omero_tui.core.usage.model import ScanCancelled, UsageScan
from omero_tui.core.usage.plan import plan_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import Progress, ProgressCallback, scan_usage
from omero_tui.core.usage.table import RecordTable
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
BATCH = 1024  # directories compared between looks at the cancel flag (run_unchanged)


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
    # The subtree totals of a scan summed in this process; a cached one keeps its own.
    sums = (
        [previous.tree.stored_sums(i) for i in range(len(old.records))]
        if isinstance(previous, UsageScan)
        else None
    )
    try:
        return _quick(old, managed_dir, progress, cancel, clock, sums)
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
    sums: list | None = None,
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
    # Start from the earlier figures by day and correct them directory by directory.
    days: dict[str, dict[int, int]] = {n: dict(d) for n, d in old.days.items()}
    counter = Progress(progress, sum(len(r) for r in old.records), quick=True)
    for index, root in enumerate(plan.roots):
        before = old_index.get(root.path)
        walker = _RootWalk(
            index, root.path, root.dev, old, before, cancel, plan.pixels_watch(index)
        )
        if before is None or not walker.run_unchanged(
            RecordTable.of(old.records[before], sums[before] if sums else None), counter
        ):
            walker.run(counter)
            same = False
        records[index], links[index] = walker.records, walker.links
        problems.extend(walker.problems)
        mounts.extend((index, rel) for rel in walker.mounts)
        listed.extend((index, rel) for rel in walker.listed)
        marks.extend((index, rel, name) for rel, name in walker.marks)
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
        watch: str | None = None,
    ) -> None:
        self.index, self.path, self.dev, self.cancel = index, path, dev, cancel
        self.watch = watch  # where pyramid lock files are looked for (walk.watched)
        self.old_marks: dict[str, list[str]] = {}
        for root, rel, name in old.pyramid_locks or ():
            if before is not None and root == before:
                self.old_marks.setdefault(rel, []).append(name)
        self.marks: list[tuple[str, str]] = []
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
        self.records: Mapping[str, tuple] = {}
        self.links: list[tuple] = []
        self.problems: list[tuple[str, str, str]] = []
        self.mounts: list[str] = []
        self.listed: list[str] = []
        self.new_days: dict[str, dict[int, int]] = {}  # by first component, like a walk
        self.dropped_days: dict[str, dict[int, int]] = {}
        # What run_unchanged saw (rel -> lstat result or error), so that run, when it
        # must take over, does not ask the filesystem again.
        self.seen: dict[str, os.stat_result | OSError] = {}

    def run_unchanged(self, table: RecordTable, counter: Progress) -> bool:
        """The common case, cheaply: every directory still as the earlier scan saw it.

        One lstat per directory, compared with the stored columns, in the order they
        are stored (a directory whose parent is unchanged is still there, so the order
        does not matter when all are); no record is built. False when anything differs:
        then nothing is kept but what was seen, and ``run`` does the work.
        """
        try:
            top = os.lstat(self.path)
        except OSError:
            return False
        names, columns = table.names, table.columns
        # A record's field F is column F - 1 (the rel is the names).
        ino, mtime, ctime, size, blocks = columns[INO - 1 : OWN_BLOCKS]
        files, own_blocks, held = columns[FILES - 1], columns[OWN_BLOCKS - 1], columns[BLOCKS - 1]
        base, dev, lstat = self.path + "/", self.dev, os.lstat
        stats: list[os.stat_result | OSError] = []
        keep = stats.append
        same = "" in table
        counted = [0, 0, 0]
        for start in range(0, len(names), BATCH):
            end = start + BATCH
            for rel, i, m, c, z, b in zip(
                names[start:end],
                ino[start:end],
                mtime[start:end],
                ctime[start:end],
                size[start:end],
                blocks[start:end],
                strict=True,
            ):
                if rel:
                    try:
                        st = lstat(base + rel)
                    except OSError as err:
                        keep(err)
                        same = False
                        continue
                else:
                    st = top
                keep(st)
                if (
                    st.st_ino != i
                    or st.st_mtime_ns != m
                    or st.st_ctime_ns != c
                    or st.st_size != z
                    or st.st_blocks != b
                    or st.st_dev != dev
                ):
                    same = False
            batch = (
                len(names[start:end]),
                sum(files[start:end]),
                sum(own_blocks[start:end]) + sum(held[start:end]),
            )
            counter.add_reused(*batch)
            counted = [a + b for a, b in zip(counted, batch, strict=True)]
            if self.cancel is not None and self.cancel.is_set():
                raise ScanCancelled()
            counter.report()
        if same:
            same = self._mounts_unchanged()
        if not same:
            counter.add_reused(*(-n for n in counted))  # run counts them again
            self.mounts = []
            self.seen = dict(zip(names, stats, strict=True))
            return False
        self.records = table
        for rel in self.old_links:
            self._relink(rel)
        if self.old_problems or self.old_marks:
            for path, found in self.old_problems.items():
                rel = "" if path == self.path else path[len(base) :]
                if rel in table and (not rel or path.startswith(base)):
                    self.problems.extend(found)
            for rel, marked in self.old_marks.items():
                if rel in table:
                    self.marks.extend((rel, name) for name in marked)
        return True

    def _mounts_unchanged(self) -> bool:
        """Whether what was mounted below an unchanged directory is still mounted (or
        gone); one unmounted since is a directory to walk now, which ``run`` does."""
        base = self.path + "/"
        for rels in self.old_mounts.values():
            for rel in rels:
                try:
                    st = os.lstat(base + rel)
                except FileNotFoundError:
                    continue
                except OSError:
                    return False  # run notes the problem
                if st.st_mode & S_IFMT != S_IFDIR:
                    continue
                if st.st_dev == self.dev:
                    return False
                self.mounts.append(rel)
        return True

    def run(self, counter: Progress) -> None:
        records: dict[str, tuple] = {}
        self.records = records
        seen = self.seen
        try:
            top = seen.pop("", None) or os.lstat(self.path)
            if isinstance(top, OSError):
                raise top
            stack = [("", own_of(top))]
        except OSError as err:
            self.problems.append((self.path, self.path, err.strerror or str(err)))
            records[""] = ("", 0, 0, 0, 0, 0, 0, 0, 0, 1, b"")
            self.listed.append("")
            stack = []
        old_children: dict[str, list[str]] = {}
        for rel in self.old_records:
            if rel:
                old_children.setdefault(rel.rpartition("/")[0], []).append(rel)
        # The loop below runs once per directory of the repository, most of them
        # unchanged: it is written for that case (locals, no call per directory, the
        # progress counted in batches).
        old_records, listed = self.old_records, self.listed
        old_mounts, old_links = self.old_mounts, self.old_links
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
                same += 1
                same_files += record[FILES]
                same_blocks += record[OWN_BLOCKS] + record[BLOCKS]
                if old_links and rel in old_links:
                    self._relink(rel)
                if rel in self.old_marks:
                    self.marks.extend((rel, name) for name in self.old_marks[rel])
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
                    st = seen.pop(child, None) if seen else None
                    if st is None:
                        try:
                            st = lstat(base + child)
                        except OSError as err:
                            st = err
                    if isinstance(st, OSError):
                        if not isinstance(st, FileNotFoundError):
                            self.problems.append(
                                (join(self.path, rel), join(self.path, child), str(st))
                            )
                        # else it went between our two looks; the parent's mtime says so next
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
            record, subdirs, entries, marks = list_directory(
                self.path, rel, own, dev, self.links, self.problems, found_mounts, row, self.watch
            )
            self.marks += marks
            records[rel] = record
            listed.append(rel)
            self.mounts.extend(found_mounts)
            stack.extend(subdirs)
            counter.add([record], entries)
        counter.add_reused(same, same_files, same_blocks)
        # Directories the earlier scan had and this one did not reach are gone.
        for rel in old_records:
            if rel not in records:
                _add_record_days(self.dropped_days, old_records[rel])

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
