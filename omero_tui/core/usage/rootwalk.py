"""A quick rescan of one root: reuse every directory that is as the earlier scan saw it.

Two ways. ``run_stored`` takes the earlier scan's records as stored columns
(table.py), looks at every directory once (one ``lstat``) and compares; where
nothing differs, which is the common case, it builds nothing, and where some
directories differ it walks just those subtrees and splices them in. ``run`` walks
from the root, reusing each unchanged directory as it goes: for a root new to the
plan, a changed root directory, or a table it cannot splice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from heapq import heapify, heappop, heappush

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
BATCH = 1024  # directories compared between looks at the cancel flag (run_stored)


def add_record_days(days: dict[str, dict[int, int]], record: tuple) -> None:
    row = days.setdefault(record[0].partition("/")[0], {})
    for day, blocks in record_days(record).items():
        row[day] = row.get(day, 0) + blocks


def count_rows(table: RecordTable, start: int, end: int, sign: int, counter: Progress) -> None:
    """Count rows start..end of the table as reused (or, sign -1, take them back)."""
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
        # What run_unchanged saw (rel -> lstat result or error), so that run, when it
        # must take over, does not ask the filesystem again.
        self.seen: dict[str, os.stat_result | OSError] = {}

    def run_stored(self, table: RecordTable, counter: Progress) -> bool:
        """Rescan against the earlier records as stored; False when ``run`` must do it.

        One lstat per directory, in the stored order, compared with the columns. When
        all are as before (the common case) the table itself is the result. Otherwise
        each changed directory whose parent is unchanged heads a span of the stored
        pre-order (itself and all below it): only those spans are walked again.
        """
        try:
            top = os.lstat(self.path)
        except OSError:
            return False
        names, columns = table.names, table.columns
        # A record's field F is column F - 1 (the rel is the names).
        ino, mtime, ctime, size, blocks = columns[INO - 1 : OWN_BLOCKS]
        base, dev, lstat = self.path + "/", self.dev, os.lstat
        # What differs, as seen (rel -> lstat result or error); nothing is kept of the
        # rest, so that a stat result's memory serves the next one.
        odd: dict[str, os.stat_result | OSError] = {}
        for start in range(0, len(names), BATCH):
            end = min(start + BATCH, len(names))
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
                        odd[rel] = err
                        continue
                else:
                    st = top
                if (
                    st.st_ino != i
                    or st.st_mtime_ns != m
                    or st.st_ctime_ns != c
                    or st.st_size != z
                    or st.st_blocks != b
                    or st.st_dev != dev
                ):
                    odd[rel] = st
            count_rows(table, start, end, 1, counter)
            if self.cancel is not None and self.cancel.is_set():
                raise ScanCancelled()
            counter.report()
        if "" in names and self._splice(table, odd, counter):
            return True
        count_rows(table, 0, len(names), -1, counter)  # run counts them again
        self.mounts, self.problems, self.links, self.marks = [], [], [], []
        self.listed, self.new_days, self.dropped_days = [], {}, {}
        self.seen = odd
        return False

    def _splice(
        self,
        table: RecordTable,
        odd: dict[str, os.stat_result | OSError],
        counter: Progress,
    ) -> bool:
        index = table.index() if odd else {}
        if odd and (
            "" in odd
            or not table.preorder
            or any(rel.rpartition("/")[0] not in index for rel in odd)  # vanished parents
        ):
            return False
        patch = _Patch(table)

        def untouched(rel: str) -> bool:
            at = table.index().get(rel)
            return at is not None and at not in patch.removed

        # In stored order, so that a directory is seen to before those below it.
        queue = sorted(index[rel] for rel in odd)
        heapify(queue)
        names = table.names
        while queue:
            at = heappop(queue)
            rel = names[at]
            if at in patch.removed:
                continue  # gone with a directory above it, or listed already
            parent = rel.rpartition("/")[0]
            if parent in patch.listed:
                own = patch.listed[parent].get(rel)
                if own is None:
                    continue  # not in its parent's new listing: dropped with it
            else:
                own = self._own_now(rel, odd[rel])
                if own is None:
                    patch.drop(at, self.dropped_days, counter)
                    continue
            self._list_again(patch, at, own, queue, counter)
        # Links, marks and mounts are noted by the directory (of this root) they are
        # in: with no row removed, all of them are in rows kept.
        kept = untouched if patch.removed else (lambda rel: True)
        self._mounts_again(kept, patch, counter)
        for rel in self.old_links:
            if kept(rel):
                self._relink(rel)
        base = self.path + "/"
        for path, problems in self.old_problems.items():
            rel = "" if path == self.path else path[len(base) :]
            if (not rel or path.startswith(base)) and untouched(rel):
                self.problems.extend(problems)
        for rel, marked in self.old_marks.items():
            if kept(rel):
                self.marks.extend((rel, name) for name in marked)
        changed = patch.removed or patch.added
        self.records = table.patched(patch.removed, patch.added) if changed else table
        return True

    def _own_now(self, rel: str, st: os.stat_result | OSError) -> Own | None:
        """A directory whose parent is unchanged, as the lstat saw it; None if it is no
        directory of this filesystem any more (gone, a file, a mount: noted as a walk would)."""
        if isinstance(st, OSError):
            if not isinstance(st, FileNotFoundError):
                parent = join(self.path, rel.rpartition("/")[0])
                self.problems.append((parent, join(self.path, rel), str(st)))
            return None
        if st.st_mode & S_IFMT != S_IFDIR:
            return None
        if st.st_dev != self.dev:
            self.mounts.append(rel)
            return None
        return own_of(st)

    def _list_again(
        self, patch: _Patch, at: int, own: Own, queue: list[int], counter: Progress
    ) -> None:
        """List a changed directory; its subdirectories as they are now decide the rest:
        one gone is dropped with all below it, one changed is listed in its turn, one new
        is walked whole, and the others stand as stored."""
        table = patch.table
        rel = table.names[at]
        before = table.record(at)
        patch.remove(at, counter)
        add_record_days(self.dropped_days, before)
        row = self.new_days.setdefault(rel.partition("/")[0], {})
        found_mounts: list[str] = []
        record, subdirs, entries, marks = list_directory(
            self.path, rel, own, self.dev, self.links, self.problems, found_mounts, row, self.watch
        )
        self.marks += marks
        self.mounts += found_mounts
        self.listed.append(rel)
        counter.add([record], entries)
        patch.added[rel] = record
        now = patch.listed[rel] = dict(subdirs)
        index, columns = table.index(), table.columns
        for child, child_at in table.children(at):
            seen = now.get(child)
            if seen is None:
                patch.drop(child_at, self.dropped_days, counter)
            elif any(seen[f] != columns[f][child_at] for f in range(5)):
                heappush(queue, child_at)
        for child, seen in subdirs:
            if child not in index:
                self._walk([(child, seen)], patch.added, {}, {}, counter)

    def _mounts_again(
        self, untouched: Callable[[str], bool], patch: _Patch, counter: Progress
    ) -> None:
        """Mounting and unmounting change no directory's mtime: look again at what was
        mounted below each unchanged directory; one unmounted since is a plain directory
        now (with what the mount hid), walked whole."""
        base = self.path + "/"
        for parent, rels in self.old_mounts.items():
            if not untouched(parent):
                continue  # listed again (the listing met its mounts) or gone
            for rel in rels:
                try:
                    st: os.stat_result | OSError = os.lstat(base + rel)
                except OSError as err:
                    st = err
                own = self._own_now(rel, st)
                if own is not None:
                    self._walk([(rel, own)], patch.added, {}, {}, counter)

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


class _Patch:
    """What a quick rescan changes in a stored table: rows removed, records added."""

    def __init__(self, table: RecordTable) -> None:
        self.table = table
        self.removed: set[int] = set()
        self.added: dict[str, tuple] = {}
        self.listed: dict[str, dict[str, Own]] = {}  # listed again -> its subdirectories now

    def remove(self, at: int, counter: Progress) -> None:
        self.removed.add(at)
        count_rows(self.table, at, at + 1, -1, counter)

    def drop(self, at: int, days: dict[str, dict[int, int]], counter: Progress) -> None:
        """Drop a directory and all below it (its span of the stored pre-order)."""
        end = self.table.span_end(at)
        for row in range(at, end):
            if row not in self.removed:
                self.removed.add(row)
                add_record_days(days, self.table.record(row))
                count_rows(self.table, row, row + 1, -1, counter)
