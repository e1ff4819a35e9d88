"""The Lock health report: one row per repository directory, and what to do about it.

Brings together the filesystem each directory lives on (``lock_fs``), declared mounts
that are not mounted (``declared_mounts``), the optional active probe
(``lock_probe``), OMERO's lock files (``lock_files``) and the server logs
(``log_symptoms``); ``lock_findings`` judges them, and each directory's own findings
decide its row's verdict. Stale lock files are removed only on request and only once
the server is verified stopped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from omero_tui.core.discovery import ServerLocation, windows_not_judged
from omero_tui.core.findings import Finding, worst
from omero_tui.core.layout.inspection import RELOCATABLE, STANDARD_SUBDIRS
from omero_tui.core.locks.declared_mounts import DeclaredMounts, read_declared
from omero_tui.core.locks.files import (
    PROC_LOCKS,
    LockFilesReport,
    StaleRemoval,
    inspect_lock_files,
    removable,
    remove_stale,
)
from omero_tui.core.locks.findings import (
    directory_findings,
    loudest_first,
    report_findings,
    verdict_text,
)
from omero_tui.core.locks.fs import classify, needs_statd
from omero_tui.core.locks.log_symptoms import (
    DEFAULT_TAIL_BYTES,
    scan_logs,
)
from omero_tui.core.locks.model import DirectoryLocks, LockHealthReport
from omero_tui.core.locks.mount_trap import DeclaredState, MountGuard, check_declared
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import frozen, replace

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.locks.probe_model import DirectoryProbe, ProbeProgress, ProbeTimeouts
    from omero_tui.core.server.for_location import StopCheck

    ProbeFunction = Callable[
        [LockHealthReport, Callable[[ProbeProgress], None] | None, threading.Event | None],
        LockHealthReport,
    ]


def _stop_check(location: ServerLocation) -> StopCheck:
    # Imported when asked: proving the server stopped brings in server control and
    # psutil, which a check that only reads the locks does not need.
    from omero_tui.core.server.for_location import check_server_stopped as check

    return check(location)


@frozen
class LockHealthSource:
    """What the panel calls; tests hand in frozen versions (latencies, device names)."""

    inspect: Callable[[ServerLocation], LockHealthReport] = lambda loc: inspect_with_settings(loc)
    probe: ProbeFunction = lambda report, progress, cancel: probe_report(report, progress, cancel)
    stopped: Callable[[ServerLocation], StopCheck] = lambda loc: _stop_check(loc)
    remove_stale: Callable[[LockHealthReport], StaleRemoval] = lambda report: remove_stale_locks(
        report, lambda: _stop_check(report.location)
    )


def inspect_locks(
    location: ServerLocation,
    *,
    server_user: str | None = None,
    declared: DeclaredMounts | None = None,
    table: MountTable | None = None,
    proc_locks: str | None = PROC_LOCKS,
    tail_bytes: int = DEFAULT_TAIL_BYTES,
    process_names: Callable[[], set[str]] | None = None,
    guard: Callable[[str, str | None], MountGuard] | None = None,
    pyramid_locks: Callable[[], Sequence[str] | None] | None = None,
) -> LockHealthReport:
    """Everything but the active probe; only reads (and stats, which wakes automounts).

    ``pyramid_locks``: asked last, for the pyramid lock files a usage scan of this
    repository has just met (``health.check`` hands them over, perhaps from a scan
    still running while the rest is looked at), so Pixels is not listed a second time;
    None from it, or no ``pyramid_locks``, and Pixels is listed here."""
    declared = read_declared() if declared is None else declared
    if location.on_windows_paths:  # not on this disk; the server's logs still are
        return LockHealthReport(
            location=location,
            directories=(),
            declared=declared,
            lock_files=LockFilesReport((), "not looked for: a Windows path", True),
            logs=scan_logs(location.server_dir.value, tail_bytes=tail_bytes),
            statd_running=None,
            probed=False,
            findings=(windows_not_judged(location, "locks"),),
        )
    dirs = repository_dirs(location)
    present = {path: os.path.isdir(path) for _, path in dirs}  # wakes automounts first
    table = table or MountTable.read()
    states = check_declared([p for _, p in dirs], declared, table, server_user, guard)
    rows = []
    for name, path in dirs:
        mount = table.mount_of(path) if present[path] else None
        covering = tuple(s for s in states if path in s.covers)
        rows.append(DirectoryLocks(name, path, present[path], mount, classify(mount), covering))
    statd = None
    if any(r.mount is not None and needs_statd(r.mount) for r in rows):
        statd = "rpc.statd" in (process_names or _process_names)()
    logs = scan_logs(location.server_dir.value, tail_bytes=tail_bytes)
    report = LockHealthReport(
        location=location,
        directories=tuple(rows),
        declared=declared,
        lock_files=inspect_lock_files(
            location.data_dir.value or "",
            location.managed_dir.value or "",
            table=table,
            proc_locks=proc_locks,
            pyramids=pyramid_locks() if pyramid_locks is not None else None,
        ),
        logs=logs,
        statd_running=statd,
        probed=False,
        findings=(),
    )
    return _judged(report, states)


def inspect_with_settings(location: ServerLocation) -> LockHealthReport:
    """inspect_locks with the server user from the console's settings, when it has one."""
    from omero_tui.core.server.for_location import settings_or_none

    settings = settings_or_none()
    # Without one, the guard check asks "writable by anyone but root?"
    return inspect_locks(location, server_user=settings.server_user if settings else None)


def probe_report(
    report: LockHealthReport,
    progress: Callable[[ProbeProgress], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    timeouts: ProbeTimeouts | None = None,
    child_command: Sequence[str] | None = None,
) -> LockHealthReport:
    """The report with the active probe run in every present directory (cancellable);
    ``timeouts``: the probe's own defaults when None."""
    if report.location.on_windows_paths:
        return report  # nothing on this disk to probe; its one line stays
    from omero_tui.core.locks import probe as lock_probe  # only a probe needs it

    targets = [r.path for r in report.directories if r.present]
    results = lock_probe.run(
        targets,
        progress,
        cancel,
        timeouts=timeouts or lock_probe.DEFAULT_TIMEOUTS,
        child_command=child_command,
    )
    by_path = dict(zip(targets, results, strict=True))
    rows = tuple(
        replace(r, probe=by_path.get(r.path), probe_verdict=_probe_verdict(by_path.get(r.path)))
        for r in report.directories
    )
    probed = replace(report, directories=rows, probed=True)
    return _judged(probed, _declared_states(report))


def remove_stale_locks(report: LockHealthReport, verify: Callable[[], StopCheck]) -> StaleRemoval:
    """Remove stale repository and pyramid lock files, only once the server is verified
    stopped (checked now, not taken from the report)."""
    if not removable(report.lock_files.files):
        return StaleRemoval((), ())
    check = verify()
    if not check.stopped:
        return StaleRemoval((), (), f"the server is not verified stopped: {check.reason}")
    return remove_stale(report.lock_files.files)


def repository_dirs(location: ServerLocation) -> list[tuple[str, str]]:
    """(row name, path): the data dir and each standard subdirectory where it really is."""
    data = location.data_dir.value or ""
    rows = [("data dir", data)]
    for name, _ in STANDARD_SUBDIRS:
        path = os.path.join(data, name)
        if name == "ManagedRepository" and location.managed_dir.value:
            path = location.managed_dir.value
        elif name in RELOCATABLE and location.properties.get(RELOCATABLE[name]):
            path = location.properties[RELOCATABLE[name]]
        rows.append((name, path))
    return rows


def _probe_verdict(probe: DirectoryProbe | None) -> str:
    if probe is None:
        return "not run"
    if probe.cancelled:
        return "cancelled"
    if probe.hung:
        return "hung"
    if probe.passed:
        return "passed"
    return "error" if probe.error and not probe.kinds else "failed"


def _declared_states(report: LockHealthReport) -> list[DeclaredState]:
    return list({id(s): s for r in report.directories for s in r.declared}.values())


def _judged(report: LockHealthReport, states: list[DeclaredState]) -> LockHealthReport:
    rows = []
    collected: dict[tuple[str, str | None, str], Finding] = {}
    for row in report.directories:
        own = directory_findings(row, report)
        for finding in own:
            collected.setdefault((finding.code, finding.path, finding.message), finding)
        rows.append(replace(row, verdict=worst(own), verdict_text=verdict_text(row, own)))
    for finding in report_findings(report, states):
        collected.setdefault((finding.code, finding.path, finding.message), finding)
    ordered = sorted(collected.values(), key=loudest_first)
    return replace(report, directories=tuple(rows), findings=tuple(ordered))


def _process_names() -> set[str]:
    try:
        import psutil

        return {p.info.get("name") or "" for p in psutil.process_iter(["name"])}
    except Exception:  # noqa: BLE001 - no process list: statd is then "not seen"
        return set()
