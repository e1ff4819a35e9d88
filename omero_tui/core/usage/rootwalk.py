"""A quick rescan of one root: reuse every directory that is as the earlier scan saw it.

``RootWalk.run`` walks from the root, reusing each unchanged directory as it goes
and listing the others. It is the way for a root new to the plan, a root directory
that changed, or records that cannot be patched; storedwalk.py has the common way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from omero_tui.core.usage.assemble import WalkResult, record_days
from omero_tui.core.usage.model import ScanCancelled
from omero_tui.core.usage.scan import Progress
from omero_tui.core.usage.table import RecordTable
from omero_tui.core.usage.walk import (
    BLOCKS,
    CTIME,
    DAY,
    FILES,
    INO,
    L_NAME,
    L_REL,
    MTIME,
    OWN_BLOCKS,
    S_IFDIR,
    S_IFMT,
    Own,
    join,
    list_directory,
    own_of,
)

CHECK_CANCEL_EVERY = 256  # directories between looks at the cancel flag (run)


def add_record_days(days: dict[str, dict[int, int]], record: tuple) -> None:
    row = days.setdefault(record[0].partition("/")[0], {})
    for day, blocks in record_days(record).items():
        row[day] = row.get(day, 0) + blocks


def count_rows(table: RecordTable, start: int, end: int, sign: int, counter: Progress) -> None:
    """Count rows start..end of the table as reused (or, sign -1, take them back)."""
    summed = table.rows_sum(start, end)
    if summed is not None:
        counter.add_reused(sign * (end - start), sign * summed[0], sign * summed[1])
        return
    columns = table.columns
    files, own, held = columns[FILES - 1], columns[OWN_BLOCKS - 1], columns[BLOCKS - 1]
    counter.add_reused(
        sign * (end - start),
        sign * sum(files[start:end]),
        sign * (sum(own[start:end]) + sum(held[start:end])),
    )


class RootWalk:
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
        # What run_stored saw (rel -> lstat result or error), so that run, when it
        # must take over, does not ask the filesystem again.
        self.seen: dict[str, os.stat_result | OSError] = {}

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
        self._walk(stack, records, old_children, seen, counter)
        # Directories the earlier scan had and this one did not reach are gone.
        old_records = self.old_records
        for rel in old_records:
            if rel not in records:
                add_record_days(self.dropped_days, old_records[rel])

    def _walk(
        self,
        stack: list[tuple[str, Own]],
        records: dict[str, tuple],
        old_children: dict[str, list[str]],
        seen: dict[str, os.stat_result | OSError],
        counter: Progress,
    ) -> None:
        """Walk from ``stack``, reusing each directory that is as before, listing the rest."""
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
                add_record_days(self.dropped_days, before)
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
