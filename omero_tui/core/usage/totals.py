"""The figures a scan counts, shared by the tree that sums them and the scan's report.

Kept apart from ``model`` so that ``tree`` (which sums directories) and ``model`` (whose
``UsageScan`` holds a tree) both import them without importing each other.
"""

from __future__ import annotations

from omero_tui.core.record import frozen


@frozen
class Totals:
    """Counted like GNU du -x (bytes) and find -type f (files); see usage_walk."""

    files: int = 0
    dirs: int = 0
    apparent_bytes: int = 0  # du -sb -x
    allocated_bytes: int = 0  # du -s -B1 -x
    errors: int = 0  # entries that could not be read (permission denied, I/O error)

    def to_json(self) -> dict[str, int]:
        return {
            "files": self.files,
            "dirs": self.dirs,
            "apparent_bytes": self.apparent_bytes,
            "allocated_bytes": self.allocated_bytes,
            "errors": self.errors,
        }


@frozen
class ScanRoot:
    """One tree walked on its own filesystem: the data dir, or a subdirectory followed
    because it is a symlink or a mount point, or a managed dir kept elsewhere."""

    name: str  # "" for the data dir, else the row it feeds ("Pixels", "ManagedRepository")
    path: str  # the real path walked
    kind: str  # "data dir" | "symlink" | "mount point" | "managed dir elsewhere"
    dev: int


@frozen
class ExternalLinks:
    """Files with links outside the repository (in-place imports with ``ln``)."""

    files: int = 0
    apparent_bytes: int = 0
    allocated_bytes: int = 0
    examples: tuple[str, ...] = ()
