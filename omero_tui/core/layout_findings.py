"""Judging a repository layout the way an experienced OMERO admin would.

Calm on a healthy repository: what OMERO recreates by itself (the search index, the
Bio-Formats cache) is at most INFO; what silently loses data (a subdirectory gone
from a repository that has run, a repository moved without its hidden identity) is
loud.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.repo_identity import IDENTITY_DIR, REPO_UUID_FILE, RepoIdentity

if TYPE_CHECKING:
    from omero_tui.core.layout import EntryInfo

AREA = "layout"
USABLE = ("present", "symlink", "mount point")
# Losing these loses data; FullText and BioFormatsCache are rebuilt by OMERO.
DATA_SUBDIRS = ("Pixels", "Files", "Thumbnails", "ManagedRepository")
REBUILT = {
    "FullText": "the indexer rebuilds the search index, which takes a while on a big server",
    "BioFormatsCache": "it is a cache, refilled as images are opened (first views are slower)",
}

UNREADABLE_WHY = {
    "data dir": "`omero admin start` refuses a data dir it cannot read, so check its permissions",
    "managed dir": "if the server user cannot read it either, imports and their files fail,"
    " so check its permissions",
}


@dataclass(frozen=True)
class Probe:
    """An EntryInfo plus what judging it needs and the report does not show."""

    entry: EntryInfo
    dev: int | None  # st_dev of what the path leads to
    has_data: bool  # holds a non-hidden entry
    unused: bool = False  # a property points OMERO elsewhere: not expected to be used

    @property
    def usable(self) -> bool:
        return self.entry.state in USABLE

    def with_state(self, state: str) -> Probe:
        return dataclasses.replace(self, entry=dataclasses.replace(self.entry, state=state))

    def unused_because(self, reason: str) -> Probe:
        if self.entry.state == "missing":
            holds = f"{reason} (absent here, as expected)"
        elif self.has_data:
            holds = f"{reason}; still holds files here (from before that was set?)"
        else:
            holds = f"{reason} (empty here)"
        return dataclasses.replace(
            self, entry=dataclasses.replace(self.entry, holds=holds), unused=True
        )


def layout_findings(
    *,
    data: Probe,
    standard: Sequence[Probe],
    extras: Sequence[Probe],
    managed: Probe,
    managed_outside: bool,
    identities: tuple[RepoIdentity, RepoIdentity],
    others_left_out: int = 0,
) -> list[Finding]:
    data_identity, managed_identity = identities
    findings = _root_findings(data, "data dir")
    if not data.usable:
        return findings  # nothing below a data dir that cannot be read is worth judging
    has_run = bool(data_identity.entries) or any(p.usable for p in standard if not p.unused)
    if has_run:
        findings += [f for p in standard for f in _subdir_findings(p, data)]
    else:
        findings.append(_empty_repository(data))
    findings += [f for p in extras for f in _extra_findings(p, data)]
    holds_data = any(p.has_data for p in standard)
    findings += _identity_findings(data_identity, data.entry.path, holds_data)
    findings += _managed_findings(managed, managed_outside, data, has_run)
    if managed.usable:
        findings += _identity_findings(managed_identity, managed.entry.path, managed.has_data)
    findings += _mismatch(data_identity, managed_identity)
    if others_left_out:
        findings.append(
            _finding(
                Severity.INFO,
                "layout.many_entries",
                f"The data dir has {others_left_out} more top-level entries than listed here:"
                " anything that is not OMERO's makes moves and backups of the repository harder.",
                data.entry.path,
            )
        )
    return findings


def _root_findings(probe: Probe, role: str) -> list[Finding]:
    entry = probe.entry
    state, path = entry.state, entry.path
    if state == "missing":
        return [
            _finding(
                Severity.CRITICAL,
                f"layout.{_code(role)}_missing",
                f"The {role} does not exist: the server cannot use it (if it is a share, it is"
                " not mounted).",
                path,
            )
        ]
    if state == "broken symlink":
        return [_broken(f"The {role}", entry, Severity.CRITICAL)]
    if state == "not a directory":
        return [
            _finding(
                Severity.CRITICAL,
                f"layout.{_code(role)}_not_directory",
                f"The {role} is a file, not a directory: the server cannot store anything in it.",
                path,
            )
        ]
    if state == "unreadable":
        return [
            _finding(
                Severity.CRITICAL,
                f"layout.{_code(role)}_unreadable",
                f"The {role} cannot be read by this console's user: {UNREADABLE_WHY[role]}.",
                path,
            )
        ]
    if state == "symlink":
        return [_symlinked(f"The {role}", entry)]
    return []


def _subdir_findings(probe: Probe, data: Probe) -> list[Finding]:
    entry = probe.entry
    name, path = entry.name, entry.path
    if probe.unused:
        return []  # configured elsewhere: absent or idle is expected here
    if entry.state == "missing":
        if name in REBUILT:
            return [
                _finding(
                    Severity.INFO,
                    "layout.rebuildable_missing",
                    f"{name} is missing from the data dir: {REBUILT[name]}.",
                    path,
                )
            ]
        return [
            _finding(
                Severity.WARNING,
                "layout.subdir_missing",
                f"{name} is missing from the data dir: OMERO recreates an empty one, so files"
                " that were there would be silently absent.",
                path,
            )
        ]
    return _entry_state_findings(probe, data, Severity.CRITICAL)


def _extra_findings(probe: Probe, data: Probe) -> list[Finding]:
    """DropBox/backup and entries that are not OMERO's: only what may surprise a move."""
    if probe.entry.state == "broken symlink":
        severity = Severity.WARNING if probe.entry.standard else Severity.INFO
        return [_broken(probe.entry.name, probe.entry, severity)]
    if probe.entry.standard:
        return _entry_state_findings(probe, data, Severity.WARNING)
    return []


def _entry_state_findings(probe: Probe, data: Probe, broken: Severity) -> list[Finding]:
    entry = probe.entry
    name, path = entry.name, entry.path
    if entry.state == "broken symlink":
        return [_broken(name, entry, broken)]
    if entry.state == "not a directory":
        return [
            _finding(
                Severity.CRITICAL,
                "layout.subdir_not_directory",
                f"{name} is a file, not a directory: the server cannot store anything there.",
                path,
            )
        ]
    if entry.state == "unreadable":
        return [
            _finding(
                Severity.WARNING,
                "layout.subdir_unreadable",
                f"{name} cannot be read by this console's user: if the server user cannot"
                " either, its files are unavailable, so check the permissions.",
                path,
            )
        ]
    if entry.state == "symlink":
        return [_symlinked(name, entry)]
    if probe.dev is not None and data.dev is not None and probe.dev != data.dev:
        return [
            _finding(
                Severity.INFO,
                "layout.other_device",
                f"{name} is on another filesystem ({entry.device}) than the data dir: moving"
                " the data dir means copying it across, and its free space counts separately.",
                path,
            )
        ]
    return []


def _managed_findings(
    managed: Probe, managed_outside: bool, data: Probe, has_run: bool
) -> list[Finding]:
    if not managed_outside:
        return []  # the ManagedRepository row already speaks for it
    entry = managed.entry
    findings = [
        _finding(
            Severity.INFO,
            "layout.managed_outside",
            f"The managed repository is outside the data dir (omero.managed.dir = {entry.path}):"
            " a relocation must move and reconfigure it separately.",
            entry.path,
        )
    ]
    if _within_or_same(data.entry.path, entry.path):
        findings.append(
            _finding(
                Severity.WARNING,
                "layout.managed_contains_data_dir",
                "The managed dir is or contains the data dir: imports and the server's own"
                " files mix, and the two identities under .omero collide.",
                entry.path,
            )
        )
    if entry.state == "missing":
        if has_run:
            findings.append(
                _finding(
                    Severity.WARNING,
                    "layout.managed_dir_missing",
                    "The managed dir does not exist: OMERO recreates an empty one, so imported"
                    " filesets would be silently absent (if it is a share, it is not mounted).",
                    entry.path,
                )
            )
        return findings
    root = _root_findings(managed, "managed dir")
    if entry.state == "unreadable":  # the server does not refuse to start over this one
        root = [dataclasses.replace(f, severity=Severity.WARNING) for f in root]
    return findings + root


def _identity_findings(identity: RepoIdentity, repo_dir: str, holds_data: bool) -> list[Finding]:
    role = identity.role
    where = os.path.join(repo_dir, *IDENTITY_DIR)
    if identity.error:
        severity = Severity.WARNING if identity.denied else Severity.CRITICAL
        return [
            _finding(
                severity,
                "layout.identity_unreadable",
                f"The {role}'s identity cannot be read ({identity.error}): the server may not"
                " recognise this repository.",
                where,
            )
        ]
    if not identity.entries:
        if not holds_data:
            return []  # a fresh repository: the server writes its identity at first start
        return [
            _finding(
                Severity.CRITICAL,
                "layout.identity_missing",
                f"The {role} holds data but has no .omero identity: the server will register"
                " a new, empty repository; was the repository moved without its hidden files,"
                " e.g. `mv /OMERO/*`?",
                where,
            )
        ]
    findings = []
    for entry in identity.entries:
        if entry.error:
            severity = Severity.WARNING if entry.denied else Severity.CRITICAL
            findings.append(
                _finding(
                    severity,
                    "layout.identity_unreadable",
                    f"The {role}'s repo_uuid for database {entry.db_uuid} is unreadable"
                    f" ({entry.error}): the server cannot tell which repository this is.",
                    os.path.join(where, entry.db_uuid, REPO_UUID_FILE),
                )
            )
    if len(identity.entries) > 1:
        findings.append(_several_databases(identity, where))
    return findings


def _several_databases(identity: RepoIdentity, where: str) -> Finding:
    count = len(identity.entries)
    locked = [e for e in identity.entries if e.lock_files]
    if len(locked) > 1:
        return _finding(
            Severity.WARNING,
            "layout.several_databases",
            f"The {identity.role} has identities for {count} databases and {len(locked)} hold"
            " a .lock: if two servers with different databases use it at once, their file"
            " ids collide and overwrite each other's data.",
            where,
        )
    return _finding(
        Severity.INFO,
        "layout.several_databases",
        f"The {identity.role} has identities for {count} databases: it was used with another"
        " database before (a restored or re-created database, or a test server); only the"
        " current database's one is used.",
        where,
    )


def _mismatch(data_identity: RepoIdentity, managed_identity: RepoIdentity) -> list[Finding]:
    data_dbs = {e.db_uuid for e in data_identity.entries}
    managed_dbs = {e.db_uuid for e in managed_identity.entries}
    if not data_dbs or not managed_dbs or data_dbs & managed_dbs:
        return []
    return [
        _finding(
            Severity.WARNING,
            "layout.identity_mismatch",
            "The data dir and the managed dir were used with different databases: they do not"
            " belong together (was one of them restored or copied from another server?).",
            managed_identity.repo_dir,
        )
    ]


def _empty_repository(data: Probe) -> Finding:
    return _finding(
        Severity.INFO,
        "layout.empty_repository",
        "Empty repository: OMERO creates its subdirectories and identity at first start.",
        data.entry.path,
    )


def _broken(subject: str, entry: EntryInfo, severity: Severity) -> Finding:
    return _finding(
        severity,
        "layout.broken_symlink",
        f"{subject} is a symlink to {entry.target}, which does not exist: whatever it held is"
        " unreachable (an unmounted share?).",
        entry.path,
    )


def _symlinked(subject: str, entry: EntryInfo) -> Finding:
    on = f" on {entry.device}" if entry.device else ""
    return _finding(
        Severity.INFO,
        "layout.symlinked",
        f"{subject} is a symlink to {entry.target}{on}: a move copies the link, not the data"
        " behind it.",
        entry.path,
    )


def _finding(severity: Severity, code: str, message: str, path: str | None) -> Finding:
    return Finding(area=AREA, severity=severity, code=code, message=message, path=path)


def _code(role: str) -> str:
    return role.replace(" ", "_")


def _within_or_same(path: str, ancestor: str) -> bool:
    try:
        p, a = os.path.realpath(path), os.path.realpath(ancestor)
    except (OSError, ValueError):
        return False
    return p == a or p.startswith(a.rstrip(os.sep) + os.sep)
