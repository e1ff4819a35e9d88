"""What a usage scan found: totals per top-level subdirectory and for the repository."""

from __future__ import annotations

from collections.abc import Mapping

from omero_tui.core.record import field, frozen
from omero_tui.core.usage.totals import ExternalLinks, ScanRoot, Totals

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    from omero_tui.core.usage.tree import UsageTree

__all__ = [
    "ExternalLinks",
    "Growth",
    "ScanCancelled",
    "ScanRoot",
    "Totals",
    "UnitUsage",
    "UsageProgress",
    "UsageScan",
]


class ScanCancelled(Exception):
    """The scan was cancelled; nothing was recorded, the previous results still stand."""


@frozen
class UnitUsage:
    """A row of the usage table: one top-level subdirectory (or the managed dir)."""

    name: str
    path: str  # as the admin knows it, e.g. /OMERO/Pixels
    kind: str  # "directory" | "symlink" | "mount point" | "managed dir elsewhere"
    target: str | None  # the real path scanned, when it is not ``path``
    totals: Totals
    root: int  # index into UsageScan.roots
    rel: str  # directory within that root ("" for the root itself)
    reused: bool = False  # every figure came from the previous scan (quick rescan)


@frozen
class Growth:
    """Allocated bytes by day (days since the epoch, UTC), from the scan itself."""

    by_mtime: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # unit -> day
    total_by_mtime: Mapping[int, int] = field(default_factory=dict)
    managed_by_import: Mapping[int, int] = field(default_factory=dict)  # from the fileset paths
    managed_unit: str | None = None  # the unit whose growth the import dates describe


@frozen
class UsageScan:
    data_dir: str
    roots: tuple[ScanRoot, ...]
    units: tuple[UnitUsage, ...]
    totals: Totals  # the whole repository: every root, hard links once
    started_at: float  # epoch seconds
    finished_at: float
    quick: bool  # a quick rescan: unchanged directories reused from an earlier scan
    full_scan_at: float  # when the oldest reused figures were measured
    reused_dirs: int
    listed_dirs: int
    problems: tuple[tuple[str, str, str], ...]  # (dir listed, path, reason): a sample
    nested_mounts: tuple[str, ...]  # other filesystems mounted below a walked tree
    external_links: ExternalLinks
    growth: Growth
    tree: UsageTree = field(repr=False, compare=False)
    entries: int = 0  # directory entries seen (the next scan's 100%)
    raw: Any = field(default=None, repr=False, compare=False)  # the WalkResult, for reuse
    fallback: str | None = None  # why a quick rescan asked for became a full scan

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at

    def unit(self, name: str) -> UnitUsage | None:
        return next((u for u in self.units if u.name == name), None)


@frozen
class UsageProgress:
    """What a running scan reports, at most about ten times a second."""

    entries: int  # directory entries seen so far
    dirs: int
    allocated_bytes: int
    elapsed: float  # seconds
    rate: float  # entries per second
    expected: int | None  # from the previous scan: its entries (full) or directories (quick)
    quick: bool = False
    in_flight: int | None = None  # threads walking a share; None for a local walk
    files: int = 0  # regular files seen so far

    @property
    def files_rate(self) -> float:
        return self.files / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def done(self) -> int:
        """What ``expected`` counts: directories for a quick rescan, else entries."""
        return self.dirs if self.quick else self.entries

    @property
    def fraction(self) -> float | None:
        if not self.expected:
            return None
        return min(1.0, self.done / self.expected)

    @property
    def eta(self) -> float | None:
        """Seconds left at the present rate, judged by the last scan's size."""
        if not self.expected or self.elapsed <= 0 or self.done <= 0:
            return None
        rate = self.done / self.elapsed
        return max(0.0, (self.expected - self.done) / rate)
