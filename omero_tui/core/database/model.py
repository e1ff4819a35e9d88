"""The database check's report: plain frozen records, JSON through json_output."""

from __future__ import annotations

from typing import Any

from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.record import field, frozen, mutable

AREAS = ("ManagedRepository", "Files", "Pixels", "Thumbnails")
MAX_EXAMPLES = 200  # per list in the report; counts and bytes are always complete
MAX_OWNER_EXAMPLES = 5


@mutable
class Tally:
    count: int = 0
    bytes: int = 0

    def add(self, size: int | None) -> None:
        self.count += 1
        self.bytes += size or 0


@frozen
class FileIssue:
    area: str
    path: str  # relative to the area's directory; bytes shown with \x escapes if not UTF-8
    kind: str  # missing | size_differs | hash_differs | orphan | unsafe_path
    row_id: int | None = None
    owner: str | None = None
    group: str | None = None
    expected_size: int | None = None
    disk_size: int | None = None
    detail: str = ""


@mutable
class OwnerTally:
    owner: str
    group: str
    missing: Tally = field(default_factory=Tally)
    size_differs: Tally = field(default_factory=Tally)
    hash_differs: Tally = field(default_factory=Tally)
    examples: list[str] = field(default_factory=list)


@mutable
class AreaTotals:
    area: str
    directory: str
    checked: bool = True
    note: str = ""
    disk_files: int = 0
    disk_bytes: int = 0
    db_rows: int = 0
    db_bytes: int = 0  # sizes the database records (none for Pixels and Thumbnails)
    matched: Tally = field(default_factory=Tally)  # disk bytes of files a row knows
    missing: Tally = field(default_factory=Tally)
    size_differs: Tally = field(default_factory=Tally)
    orphans: Tally = field(default_factory=Tally)
    kept_on_purpose: Tally = field(default_factory=Tally)  # .pyr_lock, .tmp, pyramids


@frozen
class DbRepository:
    id: int
    uuid: str
    root: str  # path || name as recorded
    role: str  # "managed dir" | "data dir" | "script repository" | "unknown"
    configured: str | None  # the directory the configuration names for that role
    matches: bool | None  # recorded root == configured (None: nothing to compare)


@frozen
class UserUsage:
    owner_id: int
    owner: str
    group_id: int
    group: str
    files: int
    bytes: int


@frozen
class HashProgress:
    done_bytes: int
    total_bytes: int
    eta_seconds: float | None


@frozen
class DbProgress:
    phase: str  # "connecting" | "counting" (with hashes) | area name | "usage"
    rows: int  # rows compared so far
    rows_total: int
    entries: int  # disk entries seen so far
    hashed_bytes: int = 0
    hash_total_bytes: int = 0
    eta_seconds: float | None = None


@mutable
class DbReport:
    connection: dict[str, Any]
    server_version: str
    db_uuid: str | None
    data_dir: str
    managed_dir: str
    repositories: list[DbRepository] = field(default_factory=list)
    areas: list[AreaTotals] = field(default_factory=list)
    missing: list[FileIssue] = field(default_factory=list)
    size_differs: list[FileIssue] = field(default_factory=list)
    hash_differs: list[FileIssue] = field(default_factory=list)
    orphans: list[FileIssue] = field(default_factory=list)
    unsafe_rows: list[FileIssue] = field(default_factory=list)
    by_owner: list[OwnerTally] = field(default_factory=list)
    orphans_by_dir: dict[str, Tally] = field(default_factory=dict)
    usage: list[UserUsage] = field(default_factory=list)
    hash_checked: Tally = field(default_factory=Tally)
    hash_differs_total: Tally = field(default_factory=Tally)
    unsafe_count: int = 0
    duplicate_rows: int = 0
    non_utf8_rows: list[str] = field(default_factory=list)
    hash_unverifiable: dict[str, int] = field(default_factory=dict)
    verify_hash: bool = False
    absent_columns: list[str] = field(default_factory=list)
    disk_identities: dict[str, str | None] = field(default_factory=dict)
    walk_errors: list[str] = field(default_factory=list)
    data_repo_rows: int = 0  # rows of the data dir's own repository (not compared)
    findings: list[Finding] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def total(self, name: str) -> Tally:
        out = Tally()
        for area in self.areas:
            part: Tally = getattr(area, name)
            out.count += part.count
            out.bytes += part.bytes
        return out

    @property
    def verdict(self) -> Severity:
        found = worst(self.findings)
        return Severity.OK if found is Severity.INFO else found
