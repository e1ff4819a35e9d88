"""A stored table patched with what a quick rescan found: rows removed, records added.

Made anew from the table's own columns (copied in slices, not row by row), so it
costs a copy of the columns and a few rows of Python, not a sum over the tree.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence

from omero_tui.core.usage.table import (
    INT_CODES,
    SUM_CODES,
    Column,
    RecordTable,
    column_of,
    preorder_key,
)


def patched(old: RecordTable, removed: set[int], added: Mapping[str, tuple]) -> RecordTable:
    """``old`` without the rows ``removed`` and with the records ``added``.

    A table in pre-order stays in pre-order (each added record goes where its key
    sorts). The subtree totals follow without summing the table again: each
    directory's total changes by what the directories at or below it changed by
    (a row removed counts as minus its own figures, one added as plus its own),
    which holds as long as every directory's parent is in the table, as a walk
    from the root makes it (a scan that lost a parent mid-way stores no totals:
    UsageTree._sum).
    """
    names = old.names
    new = sorted(added, key=preorder_key)
    events: list[tuple[int, int, str]] = [(at, 0, "") for at in removed]
    for rel in new:
        events.append((bisect_left(names, preorder_key(rel), key=preorder_key), 1, rel))
    events.sort(key=lambda e: e[:2])  # stable: records of one place stay in key order
    out_names: list[str] = []
    columns: list[list[Column]] = [[] for _ in old.columns]
    hists: list[bytes] = []
    ends: list[int] = []
    sums: list[list[Column]] | None = None if old.sums is None else [[] for _ in old.sums]
    index = old.index()
    at = 0

    def keep(end: int) -> None:
        if end <= at:
            return
        out_names.extend(names[at:end])
        for f, column in enumerate(old.columns):
            columns[f].append(column[at:end])
        hists.append(_hist_rows(old, at, end, ends))
        if sums is not None:
            for f, column in enumerate(old.sums or ()):
                sums[f].append(column[at:end])

    for where, kind, rel in events:
        keep(where)
        at = max(at, where)
        if kind == 0:
            at = where + 1
            continue
        record = added[rel]
        out_names.append(rel)
        for f in range(len(old.columns)):
            columns[f].append([record[f + 1]])
        hists.append(record[-1])
        ends.append((ends[-1] if ends else 0) + len(record[-1]))
        if sums is not None:
            was = index.get(rel)  # listed again: its stored total, corrected below
            for f, column in enumerate(old.sums or ()):
                sums[f].append([0 if was is None else column[was]])
    keep(len(names))
    table = RecordTable(
        out_names,
        [_joined(code, parts) for code, parts in zip(INT_CODES, columns, strict=True)],
        b"".join(hists),
        column_of("q", ends),
        None if sums is None else [_joined(c, p) for c, p in zip(SUM_CODES, sums, strict=True)],
        old.preorder,
    )
    if table.sums is not None:
        changes: dict[str, list[int]] = {}
        for row in removed:
            _add_own(changes, names[row], [column[row] for column in old.columns], -1)
        for rel, record in added.items():
            _add_own(changes, rel, record[1:10], 1)
        for rel, delta in changes.items():
            _add_up(table, rel, delta)
    return table


def _add_up(table: RecordTable, rel: str, delta: list[int]) -> None:
    """Add ``delta`` to the totals of ``rel`` and of every directory above it."""
    index, sums = table.index(), table.sums
    assert sums is not None
    while True:
        at = index.get(rel)
        if at is not None:
            for column, d in zip(sums, delta, strict=True):
                column[at] += d  # type: ignore[index]
        if not rel:
            return
        rel = rel.rpartition("/")[0]


def _hist_rows(table: RecordTable, start: int, end: int, ends: list[int]) -> bytes:
    """The histograms of rows start..end; their ends, moved to follow ``ends``, added."""
    if end <= start:
        return b""
    first = table.hist_ends[start - 1] if start else 0
    shift = (ends[-1] if ends else 0) - first
    ends += [e + shift for e in table.hist_ends[start:end]]
    return table.hist[first : table.hist_ends[end - 1]]


def _add_own(changes: dict[str, list[int]], rel: str, fields: Sequence[int], sign: int) -> None:
    """Add a directory's own figures (its record's INO..ERRORS) to its change, as totals."""
    _ino, _mtime, _ctime, own_size, own_blocks, files, apparent, blocks, errors = fields
    change = changes.setdefault(rel, [0, 0, 0, 0, 0])
    change[0] += sign * files
    change[1] += sign
    change[2] += sign * (own_size + apparent)
    change[3] += sign * (own_blocks + blocks) * 512
    change[4] += sign * errors


def _joined(code: str, parts: list[Column]) -> Column:
    joined: Column = array(code)
    for part in parts:
        if isinstance(part, memoryview) and isinstance(joined, array) and part.format == code:
            joined.frombytes(part.cast("B"))  # a stored column: copied whole, not item by item
            continue
        try:
            joined.extend(part)  # type: ignore[attr-defined]
        except (OverflowError, TypeError):
            joined = [*joined, *part]
    return joined
