"""One function per overview area: run that area's own check and say it in one line.

Each returns an ``AreaHealth`` and the figures monitoring wants from it. None of them
raises: a check that cannot run is an UNKNOWN area saying why, never a crash and never
a silent OK. The Disk usage area is in ``usage_area``, the guard they all run in in
``guard``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity, counted
from omero_tui.core.health.model import AreaHealth, summarise
from omero_tui.core.health.stopped_server import stopped_server_finding
from omero_tui.core.layout.inspection import inspect_layout
from omero_tui.core.locks.health import inspect_locks, probe_report
from omero_tui.core.perms.check import inspect_permissions
from omero_tui.core.relocation.status import find_unfinished_relocation, latest_relocation
from omero_tui.core.server.processes import find_server_processes
from omero_tui.core.settings import Settings

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    from omero_tui.core.health.guard import AreaResult


def layout_area(location: ServerLocation) -> AreaResult:
    report = inspect_layout(location)
    return summarise(
        "layout", report.findings, "Every subdirectory and the identity are where OMERO expects."
    ), {}


def locks_area(
    location: ServerLocation,
    settings: Settings | None,
    *,
    probe: bool,
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
    pyramid_locks: Callable[[], Sequence[str] | None] | None = None,
) -> AreaResult:
    report = inspect_locks(
        location,
        server_user=settings.server_user if settings else None,
        pyramid_locks=pyramid_locks,
    )
    if probe:
        report = probe_report(report, progress, cancel)
    fstypes = sorted({d.mount.fstype for d in report.directories if d.mount is not None})
    if not fstypes:
        finding = Finding(
            "locks",
            Severity.UNKNOWN,
            "locks.nothing_to_check",
            "No repository directory exists, so locking could not be judged.",
            location.data_dir.value,
        )
        return summarise("locks", [*report.findings, finding], finding.message), {}
    on = ", ".join(fstypes) or "no filesystem found"
    remote = any(d.mount is not None and d.fs.kind != "local" for d in report.directories)
    if report.probed:
        all_well = f"Locking works on {on}: flock and fcntl probes passed" + (
            " on this host (one host cannot prove locks between clients of a share)."
            if remote
            else "."
        )
        note = "probed"
    elif remote:
        # Without a probe, a share with no known-bad option is not proof of good locking.
        all_well = f"{on}: a shared or unknown filesystem; run the lock probe to test locking."
        note = "lock probe not run"
    else:
        all_well = f"{on}: a local filesystem with trusted locking."
        note = "lock probe not run"
    area = summarise("locks", report.findings, all_well, measured_at=time.time(), note=note)
    probes = [
        {"name": d.name, "path": d.path, "passed": d.probe_verdict == "passed"}
        for d in report.directories
        if report.probed and d.probe is not None
    ]
    return area, {"lock_probe": probes} if report.probed else {}


def perms_area(
    location: ServerLocation, settings: Settings | None, user: str | None = None
) -> AreaResult:
    settings_user = settings.server_user if settings and settings.exists else None
    settings_path = str(settings.path) if settings and settings.exists else None
    report = inspect_permissions(
        location, user=user, settings_user=settings_user, settings_path=settings_path
    )
    note = f"for {report.user.name}, picked" if user else ""
    area = summarise(
        "permissions", report.findings, report.verdict, measured_at=time.time(), note=note
    )
    return area, {"server_user": report.user.name}


def server_area(location: ServerLocation, state_dir: Path | None = None) -> AreaResult:
    server_dir = location.server_dir.value
    now = time.time()
    if not server_dir:
        words = "No server dir known, only the repository: the server is not checked."
        return AreaHealth("server", Severity.OK, words, (), now, "not checked"), {}
    if not os.path.isdir(server_dir):
        finding = Finding(
            "server",
            Severity.UNKNOWN,
            "server.dir_missing",
            f"The server dir {server_dir} does not exist, so the server cannot be checked.",
            server_dir,
        )
        return summarise("server", [finding], finding.message, measured_at=now), {}
    processes = find_server_processes(server_dir)
    if not processes:
        finding = stopped_server_finding(server_dir, state_dir) or Finding(
            "server",
            Severity.INFO,
            "server.not_running",
            "The server is not running: the repository is idle (expected during maintenance).",
            server_dir,
        )
        return summarise("server", [finding], finding.message, measured_at=now), {"running": 0}
    users = sorted({p.username or str(p.uid) for p in processes})
    roles = ", ".join(sorted({p.role for p in processes}))
    words = f"Running as {', '.join(users)}: {counted(len(processes), 'process')} ({roles})."
    return AreaHealth("server", Severity.OK, words, (), now), {"running": len(processes)}


def relocation_area(state_dir: Path | None) -> AreaResult:
    now = time.time()
    unfinished = find_unfinished_relocation(state_dir)
    if unfinished is not None:
        severity = Severity.WARNING if unfinished.state == "running" else Severity.CRITICAL
        finding = Finding(
            "relocation",
            severity,
            f"relocation.{unfinished.state}",
            unfinished.describe(),
            unfinished.target or None,
        )
        return summarise("relocation", [finding], finding.message, measured_at=now), {}
    latest = latest_relocation(state_dir)
    if latest is not None and latest.state == "complete" and latest.plan.get("method") != "copy":
        # A rename leaves no old copy: nothing to remove, nothing to claim is kept.
        words = (
            f"The last relocation is complete: {latest.source} was renamed to "
            f"{latest.target}; no old copy is left."
        )
        return AreaHealth("relocation", Severity.OK, words, (), now), {}
    if latest is not None and latest.state == "complete":
        finding = Finding(
            "relocation",
            Severity.INFO,
            "relocation.source_kept",
            f"The last relocation is complete; the old copy is kept at {latest.source} until "
            "you remove it (`omero-tui relocate --remove-source`).",
            latest.source,
        )
        return summarise("relocation", [finding], finding.message, measured_at=now), {}
    return AreaHealth("relocation", Severity.OK, "No relocation in progress.", (), now), {}


def database_area(
    location: ServerLocation,
    settings: Settings | None = None,
    *,
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> AreaResult:
    """OMERO's database against the files; UNKNOWN with the reason when it cannot be read."""
    # Here, not at the top: the check's own modules load only for a database to check.
    from omero_tui.core.database.configured import db_settings
    from omero_tui.core.database.connection import DatabaseUnavailable

    now = time.time()
    if settings is not None and settings.get("database", "check", True) is False:
        words = "Not checked: switched off in the settings ([database] check = false)."
        return AreaHealth("database", Severity.OK, words, (), now, "off"), {}
    try:
        db = db_settings(location)
        from omero_tui.core.database.check import check_database

        report = check_database(location, progress=progress, cancel=cancel, db=db)
    except DatabaseUnavailable as err:
        finding = Finding(
            "database", Severity.UNKNOWN, "database.not_checked", f"Not checked: {err}."
        )
        return summarise("database", [finding], finding.message, measured_at=now), {}
    matched = report.total("matched")
    area = summarise(
        "database",
        report.findings,
        f"Every file the database knows is present with its size ({matched.count:,} files).",
        measured_at=now,
        note=f"{report.elapsed_seconds:.1f} s",
    )
    figures = {
        "database": {
            "missing_files": report.total("missing").count,
            "missing_bytes": report.total("missing").bytes,
            "orphan_files": report.total("orphans").count,
            "orphan_bytes": report.total("orphans").bytes,
        }
    }
    return area, figures
