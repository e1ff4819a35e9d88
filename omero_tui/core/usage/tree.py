"""Per-directory totals of one scan, for the repository figures and the drill-down.

The walk gives one record per directory (its own inode and what it holds directly)
and one entry per path of every multiply-linked file. Here the records are summed
bottom-up, then each linked inode is added once to every directory that holds one of
its paths (so ``totals(d)`` equals ``du -s d`` for every directory ``d``), and once to
the repository, however many of its paths the walk met.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from omero_tui.core.usage.table import RecordTable, subtree_sums
from omero_tui.core.usage.totals import ExternalLinks, ScanRoot, Totals
from omero_tui.core.usage.walk import (
    APPARENT,
    BLOCKS,
    ERRORS,
    FILES,
    L_BLOCKS,
    L_DAY,
    L_DEV,
    L_INO,
    L_NAME,
    L_NLINK,
    L_REL,
    L_SIZE,
    join,
)

MAX_EXAMPLES = 10
# Index of the fields of a running total, a list for in-place sums.
T_FILES, T_DIRS, T_APPARENT, T_ALLOCATED, T_ERRORS = range(5)


class LinkedInode:
    """One multiply-linked inode and the paths the walk met it at."""

    __slots__ = ("size", "blocks", "nlink", "day", "paths")

    def __init__(self, size: int, blocks: int, nlink: int, day: int) -> None:
        self.size, self.blocks, self.nlink, self.day = size, blocks, nlink, day
        self.paths: list[tuple[int, str, str]] = []  # (root, directory rel, name)


class UsageTree:
    """Records (per root, keyed by the directory's path relative to the root) and links."""

    def __init__(
        self,
        roots: Sequence[ScanRoot],
        records: Sequence[Mapping[str, tuple]],
        links: Sequence[list[tuple]],
    ) -> None:
        self.roots = tuple(roots)
        self.records = list(records)
        self.links = list(links)
        self.inodes = _group_links(self.links)
        self._totals, self.repository = self._sum()
        self._children: list[dict[str, list[str]]] | None = None

    # ----------------------------------------------------------------- questions

    def has(self, root: int, rel: str) -> bool:
        return rel in self.records[root]

    def totals(self, root: int, rel: str = "") -> Totals:
        t = self._totals[root].get(rel)
        return Totals(*t) if t is not None else Totals()

    def direct(self, root: int, rel: str) -> Totals:
        """What a directory holds directly, not in subdirectories (its own inode left out)."""
        record = self.records[root].get(rel)
        if record is None:
            return Totals()
        apparent, allocated = record[APPARENT], record[BLOCKS] * 512
        for inode in self._links_in(root, rel):
            apparent += inode.size
            allocated += inode.blocks * 512
        return Totals(record[FILES], 0, apparent, allocated, record[ERRORS])

    def children(self, root: int, rel: str) -> list[str]:
        """The subdirectories' rels, in no particular order."""
        if self._children is None:
            self._children = [_children_index(r) for r in self.records]
        return self._children[root].get(rel, [])

    def path(self, root: int, rel: str) -> str:
        return join(self.roots[root].path, rel)

    @property
    def dir_count(self) -> int:
        return sum(len(r) for r in self.records)

    def external_links(self) -> ExternalLinks:
        """Inodes whose link count is higher than the paths found inside the repository."""
        files = apparent = allocated = 0
        examples: list[str] = []
        for inode in self.inodes.values():
            if inode.nlink > len(inode.paths):
                files += 1
                apparent += inode.size
                allocated += inode.blocks * 512
                if len(examples) < MAX_EXAMPLES:
                    root, rel, name = inode.paths[0]
                    examples.append(join(self.path(root, rel), name))
        return ExternalLinks(files, apparent, allocated, tuple(sorted(examples)))

    # ----------------------------------------------------------------- the sums

    def _sum(self) -> tuple[list[RootSums], Totals]:
        per_root: list[RootSums] = []
        repository = [0, 0, 0, 0, 0]
        for records in self.records:
            if isinstance(records, RecordTable) and records.prefix is not None:
                # The table's running sums: each total is a difference of two.
                lookup: Callable[[str], Sequence[int] | None] = records.sum_of
            else:
                lookup = subtree_sums(records).get
            sums = RootSums(lookup)
            top = sums.get("") or (0, 0, 0, 0, 0)
            for i in range(5):
                repository[i] += top[i]
            per_root.append(sums)
        for inode in self.inodes.values():
            repository[T_APPARENT] += inode.size
            repository[T_ALLOCATED] += inode.blocks * 512
            for root, rel in holders(inode):
                sums = per_root[root]
                t = sums.get(rel)
                if t is not None:
                    t = sums.extra[rel] = list(t)
                    t[T_APPARENT] += inode.size
                    t[T_ALLOCATED] += inode.blocks * 512
        return per_root, Totals(*repository)

    def _links_in(self, root: int, rel: str) -> Iterator[LinkedInode]:
        for inode in self.inodes.values():
            if any(r == root and d == rel for r, d, _ in inode.paths):
                yield inode


class RootSums:
    """One root's subtree totals: the records' own sums, with linked inodes on top."""

    __slots__ = ("lookup", "extra")

    def __init__(self, lookup: Callable[[str], Sequence[int] | None]) -> None:
        self.lookup = lookup
        self.extra: dict[str, list[int]] = {}  # directories that hold a linked inode

    def get(self, rel: str) -> Sequence[int] | None:
        found = self.extra.get(rel)
        return found if found is not None else self.lookup(rel)


def _group_links(links: Sequence[list[tuple]]) -> dict[tuple[int, int], LinkedInode]:
    inodes: dict[tuple[int, int], LinkedInode] = {}
    for root, found in enumerate(links):
        for link in found:
            key = (link[L_DEV], link[L_INO])
            inode = inodes.get(key)
            if inode is None:
                inode = inodes[key] = LinkedInode(
                    link[L_SIZE], link[L_BLOCKS], link[L_NLINK], int(link[L_DAY])
                )
            inode.paths.append((root, link[L_REL], link[L_NAME]))
    return inodes


def holders(inode: LinkedInode) -> set[tuple[int, str]]:
    """Every directory (root, rel) that holds one of the inode's paths at any depth."""
    found: set[tuple[int, str]] = set()
    for root, rel, _ in inode.paths:
        current = rel
        while (root, current) not in found:  # chains meet, and above that all is in
            found.add((root, current))
            if not current:
                break
            current = current.rpartition("/")[0]
    return found


def _children_index(records: Mapping[str, tuple]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for rel in records:
        if rel:
            index.setdefault(rel.rpartition("/")[0], []).append(rel)
    return index
