"""Findings of the Lock health report, and each directory's verdict from its own.

Findings about one mount are raised once, with the mount point as their path, however
many repository directories live on it; so are lock failures, which belong to the
filesystem rather than to one directory. Each message is one sentence that says why
it matters to the admin.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.locks.files import lock_file_findings
from omero_tui.core.locks.fs import needs_statd, statd_missing_concern
from omero_tui.core.locks.log_symptoms import symptom_findings
from omero_tui.core.locks.model import DirectoryLocks, LockHealthReport
from omero_tui.core.locks.mount_trap import DeclaredState, guard_commands

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.locks.probe_model import DirectoryProbe

# Among equally severe findings, the ones that explain the others come first: a share
# that is not mounted explains every other oddity of the directories under it.
_FIRST_CODES = (
    "locks.share_not_mounted",
    "locks.read_only_mount",
    "locks.probe_hung",
    "locks.write_failed",
    "locks.lock_broken",
)


def loudest_first(finding: Finding) -> tuple[int, int]:
    code = finding.code
    order = _FIRST_CODES.index(code) if code in _FIRST_CODES else len(_FIRST_CODES)
    return (-finding.severity.rank, order)


def verdict_text(row: DirectoryLocks, own: list[Finding]) -> str:
    codes = {f.code for f in own}
    if any(s.bare for s in row.declared):
        return "NOT MOUNTED"
    if not row.present:
        return "missing"
    for code, words in (
        ("locks.probe_hung", "probe hung"),
        ("locks.lock_broken", "locks broken"),
        ("locks.write_failed", "write fails"),
        ("locks.probe_error", "probe failed"),
        ("locks.probe_root_refused", "root refused"),
        ("locks.read_only_mount", "read-only"),
    ):
        if code in codes:
            return words
    if row.fs.remote:
        return "doubtful" if worst(own).rank >= Severity.WARNING.rank else "remote"
    if row.fs.kind == "unknown":
        return "unknown fs"
    return "ok"


def directory_findings(row: DirectoryLocks, report: LockHealthReport) -> list[Finding]:
    found: list[Finding] = []
    for state in row.declared:
        found += _declared_findings(state)
    if not row.present or row.mount is None:
        return found
    point = row.mount.mount_point
    for concern in row.fs.concerns:
        found.append(Finding("locks", concern.severity, concern.code, concern.message, point))
    if report.statd_running is False and needs_statd(row.mount):
        concern = statd_missing_concern()
        found.append(Finding("locks", concern.severity, concern.code, concern.message, point))
    if row.probe is not None:
        found += _probe_findings(row)
    return found


def report_findings(report: LockHealthReport, states: list[DeclaredState]) -> list[Finding]:
    found: list[Finding] = []
    declared_points = {s.mount_point for s in states}
    advised: set[str] = set()
    for state in states:
        if state.mounted is not None and state.mount_point not in advised:
            advised.add(state.mount_point)
            found.append(_guard_advice(state.mount_point, state.declared.options))
    for row in report.directories:
        mount = row.mount
        if mount is None or not row.fs.remote or mount.mount_point == os.sep:
            continue
        if mount.mount_point not in declared_points and mount.mount_point not in advised:
            advised.add(mount.mount_point)
            found.append(_guard_advice(mount.mount_point, (), declared=False))
    remote = {r.path for r in report.directories if r.fs.remote}
    found += lock_file_findings(
        report.lock_files, lambda path: any(_under(path, r) for r in remote)
    )
    found += symptom_findings(report.logs)
    if report.probed and any(r.probe_verdict == "cancelled" for r in report.directories):
        found.append(
            Finding(
                "locks",
                Severity.INFO,
                "locks.probe_cancelled",
                "The lock probe was cancelled, so some directories were not probed.",
            )
        )
    return found


def _declared_findings(state: DeclaredState) -> list[Finding]:
    declared, point = state.declared, state.mount_point
    where = declared.declared_in
    if state.mounted is not None:
        wanted, actual = _family(declared.fstype), _family(state.mounted.fstype)
        if wanted and actual and wanted != actual:
            return [
                Finding(
                    "locks",
                    Severity.WARNING,
                    "locks.share_type_mismatch",
                    f"{where} declares a {declared.fstype} mount at {point} but "
                    f"{state.mounted.fstype} is mounted there, so the repository may not be on "
                    "the storage it should be.",
                    point,
                )
            ]
        return []
    if state.trigger is not None:
        return [
            Finding(
                "locks",
                Severity.INFO,
                "locks.automount_idle",
                f"The automounter ({where}) mounts this share on first access; it was not "
                "mounted when this check looked.",
                point,
            )
        ]
    guard = state.guard
    if guard is not None and not guard.exists:
        tail = "and the mount point does not exist, so the server cannot find its repository"
    elif guard is not None and guard.in_place and state.exposed:
        tail = (
            f"and although the mount point has a guard ({guard.detail}), {state.exposed[0]} "
            "already exists below it, out of the guard's reach, so the server may still write "
            "into the bare mount point"
        )
    elif guard is not None and guard.in_place:
        tail = (
            f"so the repository there is not the real one; the guard ({guard.detail}) "
            "stops the server writing into the bare mount point"
        )
    else:
        detail = f" ({guard.detail})" if guard is not None else ""
        tail = (
            "so the server would write into the bare mount point"
            f"{detail}, files that vanish under the share once it is mounted again"
        )
    if declared.at_boot:
        return [
            Finding(
                "locks",
                Severity.CRITICAL,
                "locks.share_not_mounted",
                f"{where} declares a mount at {point} but nothing is mounted there, {tail}.",
                point,
            )
        ]
    return [
        Finding(
            "locks",
            Severity.WARNING,
            "locks.share_not_mounted_manual",
            f"{where} declares a mount at {point} that is not mounted at boot and is not "
            f"mounted now, {tail}.",
            point,
        )
    ]


def _guard_advice(point: str, options: Sequence[str], *, declared: bool = True) -> Finding:
    why = (
        "If this share ever fails to mount"
        + (" (it is declared nofail, so boot carries on without it)" if "nofail" in options else "")
        if declared
        else "This share is mounted by hand or by a tool this console cannot read, and if it "
        "ever fails to mount"
    )
    return Finding(
        "locks",
        Severity.INFO,
        "locks.mount_guard_advice",
        f"{why} the server writes into the bare mount point, whose guard cannot be seen while "
        f"the share is mounted; with it unmounted, run: {guard_commands(point)}.",
        point,
    )


def _probe_findings(row: DirectoryLocks) -> list[Finding]:
    probe, mount = row.probe, row.mount
    assert probe is not None and mount is not None
    found: list[Finding] = []
    if _root_refused(probe):
        # Locally root is never refused with EACCES (read-only says EROFS, immutable
        # EPERM); a share mapping root to nobody does, and then nothing is known.
        found.append(
            Finding(
                "locks",
                Severity.UNKNOWN,
                "locks.probe_root_refused",
                "The probe ran as root and was refused (EACCES), as a share with root_squash "
                "refuses root, so it proves nothing here: run the console as the server user.",
                row.path,
            )
        )
    elif probe.write is not None and not probe.write.passed:
        found.append(
            Finding(
                "locks",
                Severity.CRITICAL,
                "locks.write_failed",
                f"The write probe failed ({probe.write.detail}), and a server that cannot write "
                "here runs the repository read-only without telling anyone.",
                row.path,
            )
        )
    for kind in probe.kinds:
        failure = kind.failure
        if failure is not None and not probe.hung:
            found.append(
                Finding(
                    "locks",
                    Severity.CRITICAL,
                    "locks.lock_broken",
                    f"{kind.kind} locks do not work on this filesystem ({failure.name}: "
                    f"{failure.detail}), so two OMERO processes can change the same file at once.",
                    mount.mount_point,  # once per filesystem, however many directories
                )
            )
    if probe.hung:
        found.append(
            Finding(
                "locks",
                Severity.CRITICAL,
                "locks.probe_hung",
                f"The lock probe hung here ({probe.error}), and a filesystem call that hangs "
                "stalls the server the same way.",
                row.path,
            )
        )
    elif probe.error and not probe.cancelled and not _root_refused(probe):
        # The probe's own failure proves nothing about the filesystem: unknown, not red.
        own = probe.error.startswith(("cannot start", "the first", "the second"))
        if own:
            found.append(
                Finding(
                    "locks",
                    Severity.UNKNOWN,
                    "locks.probe_unavailable",
                    f"The lock probe could not run here ({probe.error}), so locking in this "
                    "directory is unproven.",
                    row.path,
                )
            )
        else:
            found.append(
                Finding(
                    "locks",
                    Severity.CRITICAL,
                    "locks.probe_error",
                    f"The lock probe failed here ({probe.error}), and the server's own "
                    "lock and data files fail the same way.",
                    row.path,
                )
            )
    if probe.leftover:
        found.append(
            Finding(
                "locks",
                Severity.WARNING,
                "locks.probe_leftover",
                "The probe could not remove its own file (not one of OMERO's), so delete "
                f"{', '.join(probe.leftover)} by hand.",
                row.path,
            )
        )
    point = mount.mount_point
    if probe.flock_emulated:
        found.append(
            Finding(
                "locks",
                Severity.INFO,
                "locks.flock_emulated",
                "flock emulated over POSIX locks (NFS-like): a flock held in one process "
                "blocks an fcntl lock in another, so OMERO's Python and Java servers contend.",
                point,
            )
        )
    # An unknown filesystem (a FUSE daemon, say) may be shared too: a pass proves as little.
    if probe.passed and row.fs.kind != "local":
        share = "this share" if row.fs.remote else "this filesystem, if other hosts share it"
        found.append(
            Finding(
                "locks",
                Severity.INFO,
                "locks.probe_blind_spot",
                "The probe passed on this host, but one host cannot prove that locks hold "
                f"between two clients of {share}.",
                point,
            )
        )
    return found


def _root_refused(probe: DirectoryProbe) -> bool:
    if probe.uid != 0:
        return False
    write_refused = probe.write is not None and probe.write.errno == "EACCES"
    return write_refused or "EACCES" in (probe.error or "")


def _family(fstype: str) -> str:
    if fstype in ("", "auto", "none") or fstype.startswith("fuse"):
        return ""  # cannot be compared (autodetected, or a FUSE helper's name)
    return {"nfs4": "nfs", "smb3": "cifs", "smbfs": "cifs", "smb": "cifs"}.get(fstype, fstype)


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)
