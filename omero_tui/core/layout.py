"""The repository layout: what is where, what is missing, what is misplaced.

INTERFACE STUB: dataclasses are the contract; ``inspect_layout`` is being written.
"""

from __future__ import annotations

from dataclasses import dataclass

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding

# The standard subdirectories and what each holds, in the order OMERO documents them.
STANDARD_SUBDIRS: tuple[tuple[str, str], ...] = (
    ("Pixels", "pixel data and pyramids"),
    ("Files", "original files and attachments"),
    ("Thumbnails", "thumbnails"),
    ("FullText", "Lucene full-text search index"),
    ("ManagedRepository", "imported filesets and import logs (OMERO.fs)"),
    ("BioFormatsCache", "Bio-Formats memo files (a cache)"),
)


@dataclass(frozen=True)
class EntryInfo:
    """One directory of the repository as found on disk."""

    name: str  # "Pixels", ..., or "data dir" / "managed dir" for the roots
    path: str
    state: str  # "present" | "missing" | "symlink" | "mount point" | "not a directory"
    #             | "unreadable" | "broken symlink"
    target: str | None  # resolved target for a symlink
    device: str  # filesystem it lives on, e.g. "/dev/vda on / (ext4)"; "" if missing
    holds: str  # what OMERO keeps there, in words
    standard: bool  # one of STANDARD_SUBDIRS (or DropBox/backup, which are optional)


@dataclass(frozen=True)
class IdentityEntry:
    """One ``.omero/repository/<db-uuid>/`` directory."""

    db_uuid: str
    repo_uuid: str | None  # decoded from repo_uuid (Java writeUTF); None if unreadable
    error: str | None  # why repo_uuid could not be read
    lock_files: tuple[str, ...]  # paths of .lock files present (held or stale: not judged here)


@dataclass(frozen=True)
class RepoIdentity:
    repo_dir: str  # the data dir or the managed dir
    role: str  # "data dir" | "managed dir"
    entries: tuple[IdentityEntry, ...]  # empty: no identity (fresh or wrongly moved repository)


@dataclass(frozen=True)
class LayoutReport:
    location: ServerLocation
    data_dir: EntryInfo
    subdirs: tuple[EntryInfo, ...]  # standard ones always listed; DropBox/backup if present
    managed_dir: EntryInfo
    managed_outside: bool  # managed dir not directly at <data dir>/ManagedRepository
    identities: tuple[RepoIdentity, ...]  # data dir, and managed dir when it is separate
    findings: tuple[Finding, ...]
