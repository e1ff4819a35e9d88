"""The fast check: a whole directory's rows against its listing in one comparison.

The database groups an area's rows by parent directory (``GROUP BY parent ORDER BY
parent COLLATE "C"``) and writes each group's names, sizes, ids and owners as one
string each; the walk (``disk_dirs``) lists one directory at a time in the same
order. When a directory's names and sizes are byte for byte what its rows say, every
file in it is present with its size, and no Python object is made per file. Only a
directory that differs (something missing, an orphan, a size, a pyramid, a row with a
strange name) is taken apart and merged row by row by ``merge.merge_area``, the
same code the checksum verification uses, so every finding is made in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from omero_tui.core.database import cancellable, queries
from omero_tui.core.database.ahead import Ahead, batched
from omero_tui.core.database.disk_dirs import DiskDir, to_bytes, walk_dirs
from omero_tui.core.database.disk_walk import DiskEntry
from omero_tui.core.database.merge import MergeContext, RowOrderError, merge_area, show
from omero_tui.core.database.model import MAX_EXAMPLES, AreaTotals, FileIssue
from omero_tui.core.database.walk_workers import walk_dirs_parallel

# The row of one group: parent, then the files' names ("/"-joined: a name never holds
# "/"), sizes, ids, owners and groups (","-joined), the same four for its Directory
# rows, the number of rows and the sum of their sizes.
GROUP_COLUMNS = (
    "s.d",
    "string_agg(s.name, '/') FILTER (WHERE NOT s.isdir)",
    "string_agg(coalesce(s.size::text, '-'), ',') FILTER (WHERE NOT s.isdir)",
    "string_agg(s.id::text, ',') FILTER (WHERE NOT s.isdir)",
    "string_agg(coalesce(s.owner_id::text, '-'), ',') FILTER (WHERE NOT s.isdir)",
    "string_agg(coalesce(s.group_id::text, '-'), ',') FILTER (WHERE NOT s.isdir)",
    "string_agg(s.name, '/') FILTER (WHERE s.isdir)",
    "string_agg(s.id::text, ',') FILTER (WHERE s.isdir)",
    "string_agg(coalesce(s.owner_id::text, '-'), ',') FILTER (WHERE s.isdir)",
    "string_agg(coalesce(s.group_id::text, '-'), ',') FILTER (WHERE s.isdir)",
    "count(*)",
    "coalesce(sum(s.size), 0)::int8",  # an int, not a Decimal, for each directory
)


FOLDER = b"Directory"
FLUSH_EVERY = 64  # matching directories between updates of the totals and progress
WALK_BATCH = 2_000  # entries per hand-over from the walking thread
WALK_AHEAD = 600_000  # entries walked ahead at most (some 40 MB of names and sizes)


def grouped_sql(inner: str) -> str:
    """Group ``inner``'s rows (d, name, size, id, owner_id, group_id, isdir) by parent.

    The inner query is sorted by (parent, name) once, and the aggregates read it in
    that order (PostgreSQL feeds a group's rows to every aggregate in the same order,
    so the lists line up); should the order ever differ, the directory merely takes
    the row-by-row path, which sorts for itself.
    """
    return (
        f"SELECT {', '.join(GROUP_COLUMNS)} FROM ({inner} ORDER BY 1, 2) s"
        " GROUP BY s.d ORDER BY s.d"
    )


def _ints(blob: bytes | None) -> list[int | None]:
    if not blob:
        return []
    return [None if v == b"-" else int(v) for v in blob.split(b",")]


def group_rows(group: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """A group taken apart into the row tuples ``merge`` reads, in key order."""
    try:
        return _rows_of(group)
    except ValueError:  # lists of different lengths: nothing of it can be trusted
        raise RowOrderError(
            f"the database's rows under {show(group[0] or b'')!r} did not line up; "
            "the check stopped rather than guess"
        ) from None


def _rows_of(group: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    parent = group[0] or b""
    rows: list[tuple[Any, ...]] = []
    if group[1] is not None:
        names = group[1].split(b"/")
        sizes, ids, owners, groups = (_ints(group[i]) for i in (2, 3, 4, 5))
        for name, size, row_id, owner, grp in zip(names, sizes, ids, owners, groups, strict=True):
            rows.append((parent + name, row_id, size, None, None, owner, grp, None))
    if group[6] is not None:
        names = group[6].split(b"/")
        ids, owners, groups = (_ints(group[i]) for i in (7, 8, 9))
        for name, row_id, owner, grp in zip(names, ids, owners, groups, strict=True):
            rows.append((parent + name + b"/", row_id, None, None, None, owner, grp, FOLDER))
    rows.sort(key=itemgetter(0))
    return rows


def dir_entries(root: bytes, disk: DiskDir) -> list[DiskEntry]:
    """A listing as the row-by-row merge reads it: files and folders, in key order."""
    entries = [
        DiskEntry(key := disk.key + name, False, size, root + b"/" + key)
        for name, size in zip(disk.name_list(), disk.size_list(), strict=True)
    ]
    entries += [
        DiskEntry(key := disk.key + to_bytes(name) + b"/", True, None, root + b"/" + key)
        for name in disk.dirs
    ]
    entries.sort(key=lambda e: e.key)
    return entries


def _matches(group: tuple[Any, ...], disk: DiskDir, sizes_recorded: bool) -> bool:
    names = group[1]
    if (names or b"") != disk.names:
        return False
    if names is not None and b"\\" in names:
        return False  # a backslash is an unsafe path: said row by row
    if sizes_recorded and group[2] is not None and group[2] != disk.sizes:
        return False
    folders = group[6]
    if folders is not None and folders != disk.dirs_blob():
        wanted = folders.split(b"/")
        if b"\\" in folders or not set(wanted) <= {to_bytes(d) for d in disk.dirs}:
            return False
        if len(set(wanted)) != len(wanted):
            return False  # the same folder twice: counted row by row
    if not (group[0] or b"").isascii() or not (names or b"").isascii():
        try:
            (group[0] or b"").decode("utf-8")
            (names or b"").decode("utf-8")
        except UnicodeDecodeError:
            return False  # noted row by row
    return True


def merge_grouped(
    ctx: MergeContext,
    totals: AreaTotals,
    root: bytes,
    groups: Iterator[tuple[Any, ...]],
    dirs: Iterator[DiskDir],
    *,
    sizes_recorded: bool = True,
    pyramids: list[tuple[int, DiskEntry]] | None = None,
) -> None:
    """Compare one area, directory by directory; differing directories row by row."""
    ctx.phase = totals.area
    # A matching directory only adds to these; they reach ctx and totals every
    # FLUSH_EVERY directories (and before anything else reads them).
    rows_n = files_n = entries_n = db_bytes = disk_bytes = pending = 0

    def flush() -> None:
        nonlocal rows_n, files_n, entries_n, db_bytes, disk_bytes, pending
        ctx.rows_done += rows_n
        ctx.entries_done += entries_n
        totals.db_rows += rows_n
        totals.db_bytes += db_bytes
        totals.disk_files += files_n
        totals.disk_bytes += disk_bytes
        totals.matched.count += files_n
        totals.matched.bytes += disk_bytes
        rows_n = files_n = entries_n = db_bytes = disk_bytes = pending = 0
        ctx.tell()

    group = next(groups, None)
    disk = next(dirs, None)
    previous: bytes | None = None
    while group is not None or disk is not None:
        parent = None if group is None else (group[0] or b"")
        if parent is not None and previous is not None and parent <= previous:
            raise RowOrderError(
                f"rows of {totals.area} arrived out of byte order ({show(previous)!r} "
                f"then {show(parent)!r}); the check stopped rather than guess"
            )
        if disk is not None and parent == disk.key and _matches(group, disk, sizes_recorded):
            rows_n += group[10]
            db_bytes += group[11]
            files_n += disk.files
            disk_bytes += disk.total
            entries_n += disk.files + len(disk.dirs)
            pending += 1
            if pending >= FLUSH_EVERY:
                flush()
            previous, group = parent, next(groups, None)
            disk = next(dirs, None)
            continue
        flush()
        if disk is None or (parent is not None and parent < disk.key):
            _by_row(ctx, totals, root, group, None, pyramids)
            previous, group = parent, next(groups, None)
        elif parent is None or parent > disk.key:
            if disk.files:
                _by_row(ctx, totals, root, None, disk, pyramids)
            else:
                ctx.entries_done += len(disk.dirs)
            disk = next(dirs, None)
        else:
            _by_row(ctx, totals, root, group, disk, pyramids)
            previous, group = parent, next(groups, None)
            disk = next(dirs, None)
    flush()
    ctx.tell(force=True)


def _by_row(
    ctx: MergeContext,
    totals: AreaTotals,
    root: bytes,
    group: tuple[Any, ...] | None,
    disk: DiskDir | None,
    pyramids: list[tuple[int, DiskEntry]] | None,
) -> None:
    rows = group_rows(group) if group is not None else []
    entries = dir_entries(root, disk) if disk is not None else []
    merge_area(ctx, totals, iter(rows), iter(entries), pyramids=pyramids, part=True)


def check_area(
    ctx: MergeContext,
    totals: AreaTotals,
    conn: Any,
    inner_sql: str,
    params: list[Any],
    *,
    skip_top: tuple[str, ...] = (),
    sizes_recorded: bool = True,
    pyramids: list[tuple[int, DiskEntry]] | None = None,
    on_error: Callable[[bytes, OSError], None] | None = None,
    parallel: bool = False,
) -> None:
    """One area: the grouped rows and the walk, each read ahead in its own thread;
    ``parallel`` (a big area) walks in worker processes."""
    root = os.fsencode(totals.directory)
    sql = grouped_sql(inner_sql)
    rows = cancellable.stream(ctx, conn, sql, params, queries.GROUP_BATCH)
    # The walk runs up to WALK_AHEAD entries ahead: while the server sorts (seconds on
    # a big table, before its first row) the disk is walked, in bounded memory.
    if parallel:
        listing = walk_dirs_parallel(root, skip_top=skip_top, on_error=on_error)
    else:
        listing = walk_dirs(root, skip_top=skip_top, on_error=on_error)
    disk: Ahead[DiskDir] = Ahead(
        lambda: batched(listing, WALK_BATCH, lambda d: d.files + len(d.dirs) + 1),
        depth=WALK_AHEAD // WALK_BATCH,
        name="omero-tui-db-walk",
        on_wait=ctx.tell,
    )
    try:
        with rows, disk:
            merge_grouped(
                ctx,
                totals,
                root,
                iter(rows),
                iter(disk),
                sizes_recorded=sizes_recorded,
                pyramids=pyramids,
            )
    finally:
        listing.close()  # its worker processes, if any, are stopped here at the latest


def note_slashed(ctx: MergeContext, totals: AreaTotals, rows: list[tuple[Any, ...]]) -> None:
    """Rows whose name holds a "/": no file of OMERO's is named so; never used."""
    for key, row_id, size, owner_id, group_id in rows:
        ctx.rows_done += 1
        totals.db_rows += 1
        totals.db_bytes += size or 0
        ctx.report.unsafe_count += 1
        if len(ctx.report.unsafe_rows) < MAX_EXAMPLES:
            ctx.report.unsafe_rows.append(
                FileIssue(
                    totals.area,
                    show(key),
                    "unsafe_path",
                    row_id,
                    ctx.owner_name(owner_id),
                    ctx.group_name(group_id),
                    size,
                    detail="the row's name holds a '/'; it was not used",
                )
            )
