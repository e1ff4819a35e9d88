"""The Lock health report's shape: one row per directory (the probe's results are in
``probe_model``, loaded only where a probe runs or is shown).

``health`` (which builds the report) and ``findings`` (which judges it) import these;
none imports another for its types.
"""

from __future__ import annotations

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.locks.declared_mounts import DeclaredMounts
from omero_tui.core.locks.files import LockFilesReport
from omero_tui.core.locks.fs import FsClass
from omero_tui.core.locks.log_symptoms import LogSymptoms
from omero_tui.core.locks.mount_trap import DeclaredState
from omero_tui.core.mounts import MountInfo
from omero_tui.core.record import frozen

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.locks.probe_model import DirectoryProbe


@frozen
class DirectoryLocks:
    name: str  # "data dir", "Pixels", ..., "ManagedRepository"
    path: str
    present: bool
    mount: MountInfo | None
    fs: FsClass
    declared: tuple[DeclaredState, ...]  # declared mounts at or above this directory
    probe: DirectoryProbe | None = None
    probe_verdict: str = "not run"  # "passed" | "failed" | "hung" | "error" | "cancelled"
    verdict: Severity = Severity.OK
    verdict_text: str = "ok"


@frozen
class LockHealthReport:
    location: ServerLocation
    directories: tuple[DirectoryLocks, ...]
    declared: DeclaredMounts
    lock_files: LockFilesReport
    logs: LogSymptoms
    statd_running: bool | None  # only looked at when an NFSv3 mount needs it
    probed: bool
    findings: tuple[Finding, ...]
