"""One root's directory records as columns: how the cache keeps them, how a rescan reads them.

A walk makes one tuple per directory (walk.py's record). Building ten thousand tuples
of eleven objects from a cache takes longer than the quick rescan they serve, so the
cache keeps the records as columns instead: the names joined in one string, the
integers as arrays, the day histograms as one blob. A :class:`RecordTable` reads like
the walk's dict (rel -> record) but builds a record tuple only when one is asked for;
a quick rescan compares the columns of an unchanged directory and builds none.

The rows are in pre-order (see preorder_key), so a directory and all below it are one
span of rows, and its subtree totals (before hard links are added) are a difference
of two running sums: the table keeps running sums of the directories' own figures
(``prefix``), made at C speed, instead of summing the tree bottom-up.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate
from operator import add

from omero_tui.core.usage.walk import (
    APPARENT,
    BLOCKS,
    ERRORS,
    FILES,
    HIST,
    OWN_BLOCKS,
    OWN_SIZE,
)

# The integer fields of a record (walk.INO .. walk.ERRORS), their array type codes.
# Inode numbers are unsigned 64-bit (overlayfs sets the high bits); mtimes may be
# negative. A value that fits no array (none should) keeps its column a plain list.
INT_CODES = ("Q", "q", "q", "q", "q", "q", "q", "q", "q")
# Running sums of the rows' own figures, one more than rows (the first is 0): files,
# apparent bytes (own inode and files), blocks (likewise), errors. A subtree's totals
# are the sums at the end of its span less those at its start; a directory is a row.
PREFIX_CODES = ("q", "q", "q", "q")

Column = Sequence[int]


class RecordTable(Mapping[str, tuple]):
    """Directory records by rel, kept as columns; read-only once made."""

    __slots__ = (
        "names",
        "columns",
        "hist",
        "hist_ends",
        "prefix",
        "preorder",
        "_index",
        "_records",
    )

    def __init__(
        self,
        names: list[str],
        columns: Sequence[Column],
        hist: bytes | memoryview,
        hist_ends: Column,
        prefix: Sequence[Column] | None = None,
        preorder: bool = False,
    ) -> None:
        # In pre-order (see preorder_key) a directory comes right before all below it,
        # one span of rows: a rescan finds a directory's subdirectories, and the place
        # of a new record, without looking at the other rows.
        self.preorder = preorder
        self.names = names
        self.columns = tuple(columns)  # INO, MTIME, CTIME, OWN_SIZE, ... ERRORS
        self.hist = hist
        self.hist_ends = hist_ends
        # Running sums (PREFIX_CODES), only in pre-order and when every directory's
        # parent is a row too (as a walk from the root makes them): else None.
        self.prefix = None if prefix is None else tuple(prefix)
        self._index: dict[str, int] | None = None
        self._records: dict[str, tuple] | None = None

    @classmethod
    def of(cls, records: Mapping[str, tuple]) -> RecordTable:
        """The table of a walk's records, in pre-order, with their running sums."""
        if isinstance(records, RecordTable):
            return records
        names = sorted(records, key=preorder_key)
        fields = list(zip(*map(records.__getitem__, names), strict=True))
        if not fields:
            fields = [()] * (HIST + 1)
        columns = [
            column_of(code, values) for code, values in zip(INT_CODES, fields[1:HIST], strict=True)
        ]
        hists = fields[HIST]
        ends = column_of("q", list(accumulate(map(len, hists))))
        table = cls(names, columns, b"".join(hists), ends, None, preorder=True)
        if whole(names, table.index()):
            table.prefix = running_sums(fields[1:HIST])
        return table

    def span_end(self, at: int) -> int:
        """The row after the span of row ``at``: itself and all below it (pre-order)."""
        return bisect_left(self.names, self.names[at] + "0", at + 1, key=preorder_key)

    def children(self, at: int) -> Iterator[tuple[str, int]]:
        """The subdirectories of row ``at`` and their rows (pre-order)."""
        end, row = self.span_end(at), at + 1
        while row < end:
            yield self.names[row], row
            row = self.span_end(row)

    def span(self, rel: str) -> tuple[int, int] | None:
        """The rows of ``rel`` and all below it (pre-order), None when it is no row."""
        if not rel:
            # The root's key ("/") need not sort first (".a/" sorts before it), but
            # the root's span is every row.
            return (0, len(self.names)) if rel in self.index() else None
        at = self.index().get(rel)
        return None if at is None else (at, self.span_end(at))

    # ----------------------------------------------------------------- as a Mapping

    def __getitem__(self, rel: str) -> tuple:
        if self._records is not None:
            return self._records[rel]
        return self.record(self.index()[rel])

    def get(self, rel: str, default: tuple | None = None) -> tuple | None:  # type: ignore[override]
        if self._records is not None:
            return self._records.get(rel, default)
        i = self.index().get(rel)
        return default if i is None else self.record(i)

    def __contains__(self, rel: object) -> bool:
        return rel in self.index()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def items(self):  # type: ignore[override]  # a dict's view: built once, then C speed
        return self.records().items()

    def values(self):  # type: ignore[override]
        return self.records().values()

    # ----------------------------------------------------------------- by position

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.names, range(len(self.names)), strict=True))
        return self._index

    def record(self, i: int) -> tuple:
        start = self.hist_ends[i - 1] if i else 0
        return (
            self.names[i],
            *[column[i] for column in self.columns],
            bytes(self.hist[start : self.hist_ends[i]]),
        )

    def records(self) -> dict[str, tuple]:
        """Every record as the walk made it (for the code that wants them all)."""
        if self._records is None:
            starts = [0, *self.hist_ends[:-1]] if self.names else []
            hist = self.hist
            hists = [bytes(hist[a:b]) for a, b in zip(starts, self.hist_ends, strict=True)]
            self._records = dict(
                zip(self.names, zip(self.names, *self.columns, hists, strict=True), strict=True)
            )
        return self._records

    def sum_of(self, rel: str) -> list[int] | None:
        """The subtree totals of ``rel`` before linked inodes (files, dirs, apparent,
        allocated, errors); None when it is no row or the table has no running sums."""
        if self.prefix is None:
            return None
        span = self.span(rel)
        if span is None:
            return None
        at, end = span
        files, apparent, blocks, errors = self.prefix
        return [
            files[end] - files[at],
            end - at,
            apparent[end] - apparent[at],
            (blocks[end] - blocks[at]) * 512,
            errors[end] - errors[at],
        ]

    def rows_sum(self, start: int, end: int) -> tuple[int, int] | None:
        """Files and blocks (own inodes included) of rows start..end, from the running
        sums (None without them)."""
        if self.prefix is None:
            return None
        files, _, blocks, _ = self.prefix
        return files[end] - files[start], blocks[end] - blocks[start]

    # ----------------------------------------------------------------- stored

    def dump(self, blobs: Blobs) -> tuple:
        """Plain values for marshal; the large ones go to ``blobs``, read back in place."""
        return (
            len(self.names),
            "\0".join(self.names),  # no file name holds a NUL
            [_dump(c, blobs) for c in self.columns],
            blobs.add(self.hist),
            _dump(self.hist_ends, blobs),
            None if self.prefix is None else [_dump(c, blobs) for c in self.prefix],
            self.preorder,
        )

    @classmethod
    def load(cls, stored: tuple, blobs: memoryview) -> RecordTable:
        """The table ``dump`` stored; its columns are views of ``blobs``, not copies."""
        count, names, columns, (at, size), ends, prefix, preorder = stored
        hist = _region(blobs, at, size, 1)
        table = cls(
            names.split("\0") if count else [],
            [_load(c, blobs) for c in columns],
            hist,
            _load(ends, blobs),
            None if prefix is None else [_load(c, blobs) for c in prefix],
            preorder is True,
        )
        lengths = {len(c) for c in (*table.columns, table.hist_ends)}
        if len(table.columns) != len(INT_CODES) or lengths - {count} or len(table.names) != count:
            raise ValueError("a record table whose columns do not line up")
        if table.prefix is not None and (
            len(table.prefix) != len(PREFIX_CODES)
            or {len(c) for c in table.prefix} != {count + 1}
            or not table.preorder
        ):
            raise ValueError("a record table whose running sums do not line up")
        if count and table.hist_ends[-1] != len(hist):
            raise ValueError("a record table whose histograms do not line up")
        return table


class Blobs:
    """The large binary parts of a cache file, one after another, each 8-byte aligned."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.size = 0

    def add(self, data: bytes | memoryview) -> tuple[int, int]:
        """Where ``data`` will lie from the start of the blobs: (offset, length in bytes)."""
        at = self.size
        data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self.parts.append(data)
        size = len(data)
        self.size += size
        pad = -size % 8
        if pad:
            self.parts.append(bytes(pad))
            self.size += pad
        return at, size


def running_sums(columns: Sequence[Sequence[int]]) -> list[Column]:
    """The running sums (PREFIX_CODES) of a table's columns (INO .. ERRORS)."""
    own_size, own_blocks, files, apparent, blocks, errors = columns[OWN_SIZE - 1 : ERRORS]
    sums = (
        accumulate(files, initial=0),
        accumulate(map(add, own_size, apparent), initial=0),
        accumulate(map(add, own_blocks, blocks), initial=0),
        accumulate(errors, initial=0),
    )
    return [column_of(code, list(values)) for code, values in zip(PREFIX_CODES, sums, strict=True)]


def whole(names: Sequence[str], index: Mapping[str, int]) -> bool:
    """Whether every directory's parent is a row too (the root's included): then each
    directory's span holds all that is below it and its running sums are its totals."""
    if names and "" not in index:
        return False
    return all(map(index.__contains__, [rel.rpartition("/")[0] for rel in names]))


def preorder_key(rel: str) -> str:
    """Sorted by this, a directory comes right before all that lies below it, and those
    form one span: every name that starts with "rel/" sorts between "rel/" and "rel0"."""
    return rel + "/"


def subtree_sums(records: Mapping[str, tuple]) -> dict[str, list[int]]:
    """Each directory's subtree totals, summed bottom-up (linked inodes left out): for
    records that some directory's parent is missing from (see RecordTable.prefix)."""
    acc = {
        rel: [
            r[FILES],
            1,
            r[OWN_SIZE] + r[APPARENT],
            (r[OWN_BLOCKS] + r[BLOCKS]) * 512,
            r[ERRORS],
        ]
        for rel, r in records.items()
    }
    # Longest first: a child's path is its parent's and more, so each directory
    # is complete before it joins its parent.
    for rel in sorted(acc, key=len, reverse=True):
        if not rel:
            continue
        parent = acc.get(rel.rpartition("/")[0])
        if parent is None:
            continue  # its parent vanished mid-scan: counted in no total above it
        child = acc[rel]
        parent[0] += child[0]  # unrolled: this loop runs once per directory
        parent[1] += child[1]
        parent[2] += child[2]
        parent[3] += child[3]
        parent[4] += child[4]
    return acc


def column_of(code: str, values: Sequence[int]) -> Column:
    try:
        return array(code, values)
    except OverflowError:
        return list(values)


def _dump(column: Column, blobs: Blobs) -> tuple:
    if isinstance(column, (array, memoryview)):
        code = column.typecode if isinstance(column, array) else column.format
        return (code, *blobs.add(column))  # type: ignore[arg-type]
    return ("", list(column))


def _load(stored: tuple, blobs: memoryview) -> Column:
    code, *where = stored
    if not code:
        if not isinstance(where[0], list):
            raise ValueError("a column that is neither an array nor a list")
        return where[0]
    if code not in ("q", "Q"):
        raise ValueError(f"a column of an unknown type {code!r}")
    at, size = where
    return _region(blobs, at, size).cast(code)


def _region(blobs: memoryview, at: int, size: int, unit: int = 8) -> memoryview:
    if at < 0 or size < 0 or at + size > len(blobs) or size % unit:
        raise ValueError("a cache part that lies outside the file")
    return blobs[at : at + size]
