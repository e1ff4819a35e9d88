"""A stored table patched with what a quick rescan found: rows removed, records added.

Made anew from the table's own columns (copied in slices, not row by row), so it
costs a copy of the columns and a few rows of Python; its running sums are made anew
from the new columns at C speed (table.running_sums), not summed over the tree.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping

from omero_tui.core.usage.table import (
    INT_CODES,
    Column,
    RecordTable,
    column_of,
    preorder_key,
    running_sums,
    whole,
)


def patched(old: RecordTable, removed: set[int], added: Mapping[str, tuple]) -> RecordTable:
    """``old`` without the rows ``removed`` and with the records ``added``.

    A table in pre-order stays in pre-order (each added record goes where its key
    sorts). It has running sums when ``old`` had them and every directory's parent
    is still a row, as a rescan keeps it (it drops a directory with all below it
    and walks a new one from its parent's listing).
    """
    names = old.names
    new = sorted(added, key=preorder_key)
    events: list[tuple[int, int, str]] = [(at, 0, "") for at in removed]
    for rel in new:
        events.append((bisect_left(names, preorder_key(rel), key=preorder_key), 1, rel))
    events.sort(key=lambda e: e[:2])  # stable: records of one place stay in key order
    out_names: list[str] = []
    columns: list[list[Column]] = [[] for _ in old.columns]
    hists: list[bytes | memoryview] = []
    ends: list[int] = []
    at = 0

    def keep(end: int) -> None:
        if end <= at:
            return
        out_names.extend(names[at:end])
        for f, column in enumerate(old.columns):
            columns[f].append(column[at:end])
        hists.append(_hist_rows(old, at, end, ends))

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
    keep(len(names))
    table = RecordTable(
        out_names,
        [_joined(code, parts) for code, parts in zip(INT_CODES, columns, strict=True)],
        b"".join(hists),
        column_of("q", ends),
        None,
        old.preorder,
    )
    if old.prefix is not None and whole(out_names, table.index()):
        table.prefix = running_sums(table.columns)
    return table


def _hist_rows(table: RecordTable, start: int, end: int, ends: list[int]) -> bytes | memoryview:
    """The histograms of rows start..end; their ends, moved to follow ``ends``, added."""
    if end <= start:
        return b""
    first = table.hist_ends[start - 1] if start else 0
    shift = (ends[-1] if ends else 0) - first
    ends += [e + shift for e in table.hist_ends[start:end]]
    return table.hist[first : table.hist_ends[end - 1]]


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
