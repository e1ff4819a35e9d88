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
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate

# The integer fields of a record (walk.INO .. walk.ERRORS), their array type codes.
# Inode numbers are unsigned 64-bit (overlayfs sets the high bits); mtimes may be
# negative. A value that fits no array (none should) keeps its column a plain list.
INT_CODES = ("Q", "q", "q", "q", "q", "q", "q", "q", "q")
# A subtree's totals before linked inodes are added: files, dirs, apparent, allocated, errors.
SUM_CODES = ("q", "q", "q", "q", "q")

Column = Sequence[int]


class RecordTable(Mapping[str, tuple]):
    """Directory records by rel, kept as columns; read-only once made."""

    __slots__ = ("names", "columns", "hist", "hist_ends", "sums", "_index", "_records")

    def __init__(
        self,
        names: list[str],
        columns: Sequence[Column],
        hist: bytes,
        hist_ends: Column,
        sums: Sequence[Column] | None = None,
    ) -> None:
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
        """The table of a walk's records (and of their subtree totals, if known)."""
        if isinstance(records, RecordTable) and (records.sums is not None or sums is None):
            return records
        names = list(records)
        stored_sums = None
        if sums is not None:
            by_field = list(zip(*(sums[name] for name in names), strict=True)) if names else []
            stored_sums = [
                _column(c, v) for c, v in zip(SUM_CODES, by_field or [()] * 5, strict=True)
            ]
        if isinstance(records, RecordTable):
            return cls(names, records.columns, records.hist, records.hist_ends, stored_sums)
        fields = list(zip(*records.values(), strict=True)) if names else [()] * 11
        columns = [
            _column(code, values) for code, values in zip(INT_CODES, fields[1:10], strict=True)
        ]
        hists = fields[10]
        ends = _column("q", list(accumulate(map(len, hists))))
        return cls(names, columns, b"".join(hists), ends, stored_sums)

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
            self.hist[start : self.hist_ends[i]],
        )

    def records(self) -> dict[str, tuple]:
        """Every record as the walk made it (for the code that wants them all)."""
        if self._records is None:
            starts = [0, *self.hist_ends[:-1]] if self.names else []
            hist = self.hist
            hists = [hist[a:b] for a, b in zip(starts, self.hist_ends, strict=True)]
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

    def dump(self) -> tuple:
        """Plain values for marshal: a few large objects, whatever the directory count."""
        sums = None if self.sums is None else [_dump(c) for c in self.sums]
        return (
            len(self.names),
            "\0".join(self.names),  # no file name holds a NUL
            [_dump(c) for c in self.columns],
            self.hist,
            _dump(self.hist_ends),
            sums,
        )

    @classmethod
    def load(cls, stored: tuple) -> RecordTable:
        count, names, columns, hist, ends, sums = stored
        table = cls(
            names.split("\0") if count else [],
            [_load(c) for c in columns],
            hist,
            _load(ends),
            None if sums is None else [_load(c) for c in sums],
        )
        lengths = {len(c) for c in (*table.columns, table.hist_ends, *(table.sums or ()))}
        if len(table.columns) != len(INT_CODES) or lengths - {count} or len(table.names) != count:
            raise ValueError("a record table whose columns do not line up")
        if not isinstance(hist, bytes) or (count and table.hist_ends[-1] != len(hist)):
            raise ValueError("a record table whose histograms do not line up")
        return table


def _column(code: str, values: Sequence[int]) -> Column:
    try:
        return array(code, values)
    except OverflowError:
        return list(values)


def _dump(column: Column) -> tuple[str, object]:
    if isinstance(column, array):
        return column.typecode, column.tobytes()
    return "", list(column)


def _load(stored: tuple[str, object]) -> Column:
    code, data = stored
    if not code:
        if not isinstance(data, list):
            raise ValueError("a column that is neither an array nor a list")
        return data
    column = array(code)
    column.frombytes(data)  # type: ignore[arg-type]
    return column
