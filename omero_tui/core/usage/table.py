"""One root's directory records as columns: how the cache keeps them, how a rescan reads them.

A walk makes one tuple per directory (walk.py's record). Building ten thousand tuples
of eleven objects from a cache takes longer than the quick rescan they serve, so the
cache keeps the records as columns instead: the names joined in one string, the
integers as arrays, the day histograms as one blob. A :class:`RecordTable` reads like
the walk's dict (rel -> record) but builds a record tuple only when one is asked for;
a quick rescan compares the columns of an unchanged directory and builds none. It
also carries the subtree totals of the scan it came from (before hard links are
added), which stay exact as long as the records do.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate

from omero_tui.core.usage.walk import APPARENT, BLOCKS, ERRORS, FILES, OWN_BLOCKS, OWN_SIZE

# The integer fields of a record (walk.INO .. walk.ERRORS), their array type codes.
# Inode numbers are unsigned 64-bit (overlayfs sets the high bits); mtimes may be
# negative. A value that fits no array (none should) keeps its column a plain list.
INT_CODES = ("Q", "q", "q", "q", "q", "q", "q", "q", "q")
# A subtree's totals before linked inodes are added: files, dirs, apparent, allocated, errors.
SUM_CODES = ("q", "q", "q", "q", "q")

Column = Sequence[int]


class RecordTable(Mapping[str, tuple]):
    """Directory records by rel, kept as columns; read-only once made."""

    __slots__ = ("names", "columns", "hist", "hist_ends", "sums", "preorder", "_index", "_records")

    def __init__(
        self,
        names: list[str],
        columns: Sequence[Column],
        hist: bytes | memoryview,
        hist_ends: Column,
        sums: Sequence[Column] | None = None,
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
        self.sums = None if sums is None else tuple(sums)
        self._index: dict[str, int] | None = None
        self._records: dict[str, tuple] | None = None

    @classmethod
    def of(
        cls, records: Mapping[str, tuple], sums: Mapping[str, Sequence[int]] | None = None
    ) -> RecordTable:
        """The table of a walk's records, in pre-order (and their subtree totals, if known)."""
        if isinstance(records, RecordTable):
            if records.sums is not None or sums is None:
                return records
            table = records
            stored_sums = _sums_of(table.names, sums)
            return cls(
                table.names, table.columns, table.hist, table.hist_ends, stored_sums, table.preorder
            )
        names, columns, hists, ends, stored_sums = _made(records, sums)
        return cls(names, columns, b"".join(hists), ends, stored_sums, preorder=True)

    @staticmethod
    def dump_records(
        records: Mapping[str, tuple], sums: Mapping[str, Sequence[int]] | None, blobs: Blobs
    ) -> tuple:
        """What ``of(records, sums).dump(blobs)`` gives, without joining the histograms
        twice (a large tree's are tens of MB): they go to the blobs as they are."""
        if isinstance(records, RecordTable):
            return RecordTable.of(records, sums).dump(blobs)
        names, columns, hists, ends, stored_sums = _made(records, sums)
        return _stored(names, columns, blobs.add(*hists), ends, stored_sums, True, blobs)

    def span_end(self, at: int) -> int:
        """The row after the span of row ``at``: itself and all below it (pre-order)."""
        return bisect_left(self.names, self.names[at] + "0", at + 1, key=preorder_key)

    def children(self, at: int) -> Iterator[tuple[str, int]]:
        """The subdirectories of row ``at`` and their rows (pre-order)."""
        end, row = self.span_end(at), at + 1
        while row < end:
            yield self.names[row], row
            row = self.span_end(row)

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
        """The stored subtree totals of ``rel`` (only when ``sums`` is set)."""
        i = self.index().get(rel)
        if i is None or self.sums is None:
            return None
        return [column[i] for column in self.sums]

    # ----------------------------------------------------------------- stored

    def dump(self, blobs: Blobs) -> tuple:
        """Plain values for marshal; the large ones go to ``blobs``, read back in place."""
        hist = blobs.add(self.hist)
        return _stored(
            self.names, self.columns, hist, self.hist_ends, self.sums, self.preorder, blobs
        )

    @classmethod
    def load(cls, stored: tuple, blobs: memoryview) -> RecordTable:
        """The table ``dump`` stored; its columns are views of ``blobs``, not copies."""
        count, names, columns, (at, size), ends, sums, preorder = stored
        hist = _region(blobs, at, size)
        table = cls(
            names.split("\0") if count else [],
            [_load(c, blobs) for c in columns],
            hist,
            _load(ends, blobs),
            None if sums is None else [_load(c, blobs) for c in sums],
            preorder is True,
        )
        lengths = {len(c) for c in (*table.columns, table.hist_ends, *(table.sums or ()))}
        if len(table.columns) != len(INT_CODES) or lengths - {count} or len(table.names) != count:
            raise ValueError("a record table whose columns do not line up")
        if count and table.hist_ends[-1] != len(hist):
            raise ValueError("a record table whose histograms do not line up")
        return table


class Blobs:
    """The large binary parts of a cache file, one after another, each 8-byte aligned."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.size = 0

    def add(self, *parts: bytes | memoryview) -> tuple[int, int]:
        """Where ``parts``, one after another, will lie from the start of the blobs:
        (offset, length in bytes)."""
        at = self.size
        for data in parts:
            data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
            self.parts.append(data)
            self.size += len(data)
        size = self.size - at
        pad = -size % 8
        if pad:
            self.parts.append(bytes(pad))
            self.size += pad
        return at, size


def _made(
    records: Mapping[str, tuple], sums: Mapping[str, Sequence[int]] | None
) -> tuple[list[str], list[Column], tuple[bytes, ...], Column, list[Column] | None]:
    """A walk's records as columns, in pre-order: names, integers, histograms, their ends."""
    names = sorted(records, key=preorder_key)
    fields = list(zip(*(records[n] for n in names), strict=True)) if names else [()] * 11
    columns = [
        column_of(code, values) for code, values in zip(INT_CODES, fields[1:10], strict=True)
    ]
    hists = fields[10]
    ends = column_of("q", list(accumulate(map(len, hists))))
    return names, columns, hists, ends, _sums_of(names, sums)


def _sums_of(names: list[str], sums: Mapping[str, Sequence[int]] | None) -> list[Column] | None:
    if sums is None:
        return None
    by_field = list(zip(*(sums[name] for name in names), strict=True)) if names else []
    return [column_of(c, v) for c, v in zip(SUM_CODES, by_field or [()] * 5, strict=True)]


def _stored(
    names: list[str],
    columns: Sequence[Column],
    hist: tuple[int, int],
    ends: Column,
    sums: Sequence[Column] | None,
    preorder: bool,
    blobs: Blobs,
) -> tuple:
    return (
        len(names),
        "\0".join(names),  # no file name holds a NUL
        [_dump(c, blobs) for c in columns],
        hist,
        _dump(ends, blobs),
        None if sums is None else [_dump(c, blobs) for c in sums],
        preorder,
    )


def preorder_key(rel: str) -> str:
    """Sorted by this, a directory comes right before all that lies below it, and those
    form one span: every name that starts with "rel/" sorts between "rel/" and "rel0"."""
    return rel + "/"


def subtree_sums(records: Mapping[str, tuple]) -> tuple[dict[str, list[int]], bool]:
    """Each directory's subtree totals, summed bottom-up (linked inodes left out), and
    whether every directory's parent was there (see RecordTable.patched)."""
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
    whole = True
    # Longest first: a child's path is its parent's and more, so each directory
    # is complete before it joins its parent.
    for rel in sorted(acc, key=len, reverse=True):
        if not rel:
            continue
        parent = acc.get(rel.rpartition("/")[0])
        if parent is None:
            whole = False
            continue  # its parent vanished mid-scan: counted in no total above it
        child = acc[rel]
        parent[0] += child[0]  # unrolled: this loop runs once per directory
        parent[1] += child[1]
        parent[2] += child[2]
        parent[3] += child[3]
        parent[4] += child[4]
    return acc, whole


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


def _region(blobs: memoryview, at: int, size: int) -> memoryview:
    if at < 0 or size < 0 or at + size > len(blobs) or size % 8:
        raise ValueError("a cache part that lies outside the file")
    return blobs[at : at + size]
