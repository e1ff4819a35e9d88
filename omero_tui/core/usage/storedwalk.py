"""A quick rescan of one root against the earlier scan's records as stored (table.py).

Every directory is looked at once (one ``lstat``, in the stored order) and compared
with the stored columns. Where nothing differs, the common case, the stored table
itself is the result and no record is built. A directory that differs is listed
again, alone: its subdirectories as they are now decide the rest (one gone is
dropped with all below it, one changed is listed in its turn, one new is walked
whole, the others stand as stored), and the table is patched. When the root itself
changed, ``RootWalk.run`` walks from the top instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from heapq import heapify, heappop, heappush

from omero_tui.core.usage.model import ScanCancelled
from omero_tui.core.usage.rootwalk import RootWalk, add_record_days, count_rows
from omero_tui.core.usage.scan import Progress
from omero_tui.core.usage.table import RecordTable
from omero_tui.core.usage.tablepatch import patched
from omero_tui.core.usage.walk import (
    INO,
    OPEN_FLAGS,
    OWN_BLOCKS,
    S_IFDIR,
    S_IFMT,
    Own,
    join,
    list_directory,
    own_of,
)

BATCH = 1024  # directories compared between looks at the cancel flag


class StoredWalk(RootWalk):
    """A RootWalk that first tries the stored records (see the module's docstring)."""

    def run_stored(self, table: RecordTable, counter: Progress) -> bool:
        """Rescan against the earlier records as stored; False when ``run`` must do it.

        One lstat per directory, in the stored order, compared with the columns. When
        all are as before (the common case) the table itself is the result. Otherwise
        the directories that differ are listed again (``_splice``), unless the root is
        one of them or the table cannot be patched.
        """
        try:
            # Each directory is looked up from the open root: the kernel walks only
            # the part of the path below it (a tenth cheaper on a deep data dir).
            at = os.open(self.path, OPEN_FLAGS)
        except OSError:
            return False
        try:
            top = os.fstat(at)  # the root itself, as lstat sees it (O_NOFOLLOW)
        except OSError:
            os.close(at)
            return False
        try:
            odd = self._compare(table, top, at, counter)
        finally:
            os.close(at)
        if "" in table.names and self._splice(table, odd, counter):
            return True
        count_rows(table, 0, len(table.names), -1, counter)  # run counts them again
        self.mounts, self.problems, self.links, self.marks = [], [], [], []
        self.listed, self.new_days, self.dropped_days = [], {}, {}
        self.seen = odd
        return False

    def _compare(
        self, table: RecordTable, top: os.stat_result, at: int, counter: Progress
    ) -> dict[str, os.stat_result | OSError]:
        """Every directory of ``table`` looked at once; those that differ, as seen."""
        names, columns = table.names, table.columns
        # A record's field F is column F - 1 (the rel is the names).
        ino, mtime, ctime, size, blocks = columns[INO - 1 : OWN_BLOCKS]
        dev, lstat = self.dev, os.lstat
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
                        st = lstat(rel, dir_fd=at)
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
        return odd

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

        # In stored order (pre-order): a directory is dealt with before those below it.
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
        self.records = patched(table, patch.removed, patch.added) if changed else table
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
