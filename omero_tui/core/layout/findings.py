"""Judging a repository layout the way an experienced OMERO admin would.

Calm on a healthy repository: what OMERO recreates by itself (the search index, the
Bio-Formats cache) is at most INFO; what silently loses data (a subdirectory gone
from a repository that has run, a repository moved without its hidden identity) is
loud. The repository's hidden identity is judged in ``identity_findings``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.layout.identity import RepoIdentity
from omero_tui.core.layout.identity_findings import (
    identity_findings,
    identity_mismatch,
    layout_finding,
)
from omero_tui.core.layout.model import EntryInfo, Probe
from omero_tui.core.record import replace

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
    findings += identity_findings(data_identity, data.entry.path, holds_data)
    findings += _managed_findings(managed, managed_outside, data, has_run)
    if managed.usable:
        findings += identity_findings(managed_identity, managed.entry.path, managed.has_data)
    findings += identity_mismatch(data_identity, managed_identity)
    if others_left_out:
        findings.append(
            layout_finding(
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
            layout_finding(
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
            layout_finding(
                Severity.CRITICAL,
                f"layout.{_code(role)}_not_directory",
                f"The {role} is a file, not a directory: the server cannot store anything in it.",
                path,
            )
        ]
    if state == "unreadable":
        return [
            layout_finding(
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
                layout_finding(
                    Severity.INFO,
                    "layout.rebuildable_missing",
                    f"{name} is missing from the data dir: {REBUILT[name]}.",
                    path,
                )
            ]
        return [
            layout_finding(
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
            layout_finding(
                Severity.CRITICAL,
                "layout.subdir_not_directory",
                f"{name} is a file, not a directory: the server cannot store anything there.",
                path,
            )
        ]
    if entry.state == "unreadable":
        return [
            layout_finding(
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
            layout_finding(
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
        layout_finding(
            Severity.INFO,
            "layout.managed_outside",
            f"The managed repository is outside the data dir (omero.managed.dir = {entry.path}):"
            " a relocation must move and reconfigure it separately.",
            entry.path,
        )
    ]
    if _within_or_same(data.entry.path, entry.path):
        findings.append(
            layout_finding(
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
                layout_finding(
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
        root = [replace(f, severity=Severity.WARNING) for f in root]
    return findings + root


def _empty_repository(data: Probe) -> Finding:
    return layout_finding(
        Severity.INFO,
        "layout.empty_repository",
        "Empty repository: OMERO creates its subdirectories and identity at first start.",
        data.entry.path,
    )


def _broken(subject: str, entry: EntryInfo, severity: Severity) -> Finding:
    return layout_finding(
        severity,
        "layout.broken_symlink",
        f"{subject} is a symlink to {entry.target}, which does not exist: whatever it held is"
        " unreachable (an unmounted share?).",
        entry.path,
    )


def _symlinked(subject: str, entry: EntryInfo) -> Finding:
    on = f" on {entry.device}" if entry.device else ""
    return layout_finding(
        Severity.INFO,
        "layout.symlinked",
        f"{subject} is a symlink to {entry.target}{on}: a move copies the link, not the data"
        " behind it.",
        entry.path,
    )


def _code(role: str) -> str:
    return role.replace(" ", "_")


def _within_or_same(path: str, ancestor: str) -> bool:
    try:
        p, a = os.path.realpath(path), os.path.realpath(ancestor)
    except (OSError, ValueError):
        return False
    return p == a or p.startswith(a.rstrip(os.sep) + os.sep)
