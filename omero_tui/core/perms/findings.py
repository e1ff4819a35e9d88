"""Judging the permission rows: which problems each row has, and the findings an admin reads.

Each row carries its problem codes (the panel shows them per row); the findings
aggregate a code over all rows, so a repository owned by the wrong user reads as one
sentence, not twelve.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from omero_tui.core.findings import Finding, Severity, counted

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.perms.deep import DeepResult
    from omero_tui.core.perms.model import DirAccess
    from omero_tui.core.perms.server_user import ServerUser

AREA = "permissions"
SEVERITY: dict[str, Severity] = {
    "perms.ancestor_not_traversable": Severity.CRITICAL,
    "perms.not_traversable": Severity.CRITICAL,
    "perms.not_readable": Severity.CRITICAL,
    "perms.not_writable": Severity.CRITICAL,
    "perms.cannot_create": Severity.CRITICAL,
    "perms.read_only_filesystem": Severity.CRITICAL,
    "perms.data_dir_missing": Severity.UNKNOWN,
    "perms.cannot_check": Severity.UNKNOWN,
    "perms.other_owner": Severity.WARNING,
    "perms.world_writable": Severity.WARNING,
    "perms.ancestor_world_writable": Severity.WARNING,
    "perms.managed_no_setgid": Severity.WARNING,
}
# Short words for the panel's per-row column.
SHORT: dict[str, str] = {
    "perms.ancestor_not_traversable": "cannot enter",
    "perms.not_traversable": "cannot enter",
    "perms.not_readable": "cannot read",
    "perms.not_writable": "cannot write",
    "perms.cannot_create": "cannot create",
    "perms.read_only_filesystem": "read-only fs",
    "perms.data_dir_missing": "missing",
    "perms.cannot_check": "unchecked",
    "perms.other_owner": "other owner",
    "perms.world_writable": "world-writable",
    "perms.ancestor_world_writable": "world-writable",
    "perms.managed_no_setgid": "no setgid",
    "perms.blocked": "blocked above",
}


def row_problems(row: DirAccess, user: ServerUser, managed_real: str) -> tuple[str, ...]:
    """Problem codes of one row (effective access already includes the path to it)."""
    if row.error or not row.present:
        if row.kind == "repository" and row.label == "data dir" and row.error is None:
            return ("perms.data_dir_missing",)
        return ("perms.cannot_check",) if row.error else ()
    codes: list[str] = []
    if row.blocked_by:
        codes.append("perms.blocked")
    elif row.kind == "ancestor":
        if not row.traverse:
            codes.append("perms.ancestor_not_traversable")
    else:
        if not row.traverse:
            codes.append("perms.not_traversable")
        if not row.read:
            codes.append("perms.not_readable")
        if row.read_only_fs:
            codes.append("perms.read_only_filesystem")
        elif not row.write:
            codes.append("perms.not_writable")
        elif row.traverse and row.create is False:
            codes.append("perms.cannot_create")
    if row.kind == "repository":
        # A named ACL entry for the server is a deliberate setup, not a stray owner.
        deliberate = row.via in ("ACL user entry", "ACL group entry")
        if not user.identity.is_root and row.uid != user.uid and not deliberate:
            codes.append("perms.other_owner")
        if row.mode_bits & 0o002:
            codes.append("perms.world_writable")
        if (
            os.path.realpath(row.path) == managed_real
            and row.group_writable
            and not row.mode_bits & 0o2000
        ):
            codes.append("perms.managed_no_setgid")
    elif row.mode_bits & 0o002 and not row.mode_bits & 0o1000:
        codes.append("perms.ancestor_world_writable")
    return tuple(codes)


def row_findings(rows: Sequence[DirAccess], user: ServerUser) -> list[Finding]:
    """One finding per problem code, over every row that has it."""
    by_code: dict[str, list[DirAccess]] = {}
    for row in rows:
        for code in row.problems:
            if code in SEVERITY:
                by_code.setdefault(code, []).append(row)
    findings = []
    for code, hits in by_code.items():
        findings.append(
            Finding(AREA, SEVERITY[code], code, _message(code, hits, user), hits[0].path)
        )
    return sorted(findings, key=lambda f: -f.severity.rank)


def _paths(hits: Sequence[DirAccess]) -> str:
    first = hits[0].path
    return first if len(hits) == 1 else f"{first} and {len(hits) - 1} more"


def _message(code: str, hits: Sequence[DirAccess], user: ServerUser) -> str:
    who = user.name
    where = _paths(hits)
    if code == "perms.ancestor_not_traversable":
        return f"{who} cannot enter {where}, so the server cannot reach the repository below it."
    if code == "perms.not_traversable":
        return f"{who} cannot enter {where}, so the server cannot use anything inside."
    if code == "perms.not_readable":
        return f"{who} cannot read {where}, so the server cannot list or serve the files there."
    if code == "perms.not_writable":
        return (
            f"{who} cannot write to {where}, so the server silently runs the repository"
            " read-only and imports, thumbnails and new pixel data fail."
        )
    if code == "perms.cannot_create":
        return (
            f"{who} may write to and enter {where}, but no single ACL entry grants both,"
            " and creating, deleting or renaming a file needs both at once, so every new"
            " file there fails."
        )
    if code == "perms.read_only_filesystem":
        return (
            f"The filesystem holding {where} is mounted read-only, so the server cannot write"
            " there whatever the permissions say."
        )
    if code == "perms.other_owner":
        owners = ", ".join(sorted({h.owner for h in hits}))
        return (
            f"{where} belong{'s' if len(hits) == 1 else ''} to {owners}, not to the server user"
            f" {who}, so the server depends on rights their owner can take away."
        )
    if code == "perms.world_writable":
        return (
            f"{where} can be written by every user on this machine, who could delete or"
            " replace repository files."
        )
    if code == "perms.ancestor_world_writable":
        return (
            f"{where} above the repository is writable by every user and has no sticky bit,"
            " so anyone could rename the repository away or put another in its place."
        )
    if code == "perms.managed_no_setgid":
        return (
            f"The managed repository {where} is group-writable without the setgid bit, so"
            " directories made by in-place imports get the importer's group and may lock"
            " other importers out."
        )
    if code == "perms.cannot_check":
        error = hits[0].error or "no access"
        return (
            f"The console cannot look at {where} itself ({error}), so it cannot tell whether"
            " the server user can; run it as root or as the server user."
        )
    if code == "perms.data_dir_missing":
        return f"The data dir {where} does not exist, so there are no permissions to check."
    return f"{where}: {code}"


def summary_findings(
    rows: Sequence[DirAccess],
    user: ServerUser,
    findings: Sequence[Finding],
    deep: DeepResult | None,
) -> tuple[str, list[Finding]]:
    """(the verdict sentence, the closing findings: deep-check results or the all-clear)."""
    closing = deep_findings(deep, user) if deep is not None else []
    alarms = [f for f in [*findings, *closing] if f.severity.rank > Severity.INFO.rank]
    if alarms:
        top = max(alarms, key=lambda f: f.severity.rank)
        return top.message, closing
    if user.identity.is_root:
        verdict = (
            "The server user is root, which can read and write everything, so no"
            " permission can stop it."
        )
    else:
        repository_dirs = sum(1 for r in rows if r.kind == "repository")
        verdict = (
            f"The server user {user.name} can read, write and enter all"
            f" {counted(repository_dirs, 'repository directory')} and every directory above them."
        )
    if deep is not None:
        verdict = (
            verdict[:-1] + f"; the deep check found all {counted(deep.scanned, 'entry')} usable."
        )
    closing.append(Finding(AREA, Severity.OK, "perms.all_ok", verdict))
    return verdict, closing


def deep_findings(deep: DeepResult, user: ServerUser) -> list[Finding]:
    findings = []
    where = ", ".join(deep.roots)
    if deep.unreadable_total:
        findings.append(
            Finding(
                AREA,
                Severity.CRITICAL,
                "perms.deep_unreadable",
                f"{user.name} cannot read {deep.unreadable_total:,} of"
                f" {counted(deep.scanned, 'entry')} below {where},"
                " so the server fails on those images and files.",
                deep.problems[0].path if deep.problems else None,
            )
        )
    if deep.unwritable_dirs_total:
        findings.append(
            Finding(
                AREA,
                Severity.CRITICAL,
                "perms.deep_unwritable",
                f"{user.name} cannot write to"
                f" {counted(deep.unwritable_dirs_total, 'directory')} below {where},"
                " so new files there (pyramids, imports) cannot be created.",
            )
        )
    if deep.link_unreadable_total:
        first = next((p for p in deep.problems if p.link_target), None)
        findings.append(
            Finding(
                AREA,
                Severity.CRITICAL,
                "perms.deep_link_unreadable",
                f"{user.name} cannot read the targets of"
                f" {counted(deep.link_unreadable_total, 'symlink')} below {where}"
                " (in-place imports link to files elsewhere), so the server"
                " cannot serve those images; the fix plan does not change files outside the"
                " repository.",
                first.path if first else None,
            )
        )
    if deep.world_writable_total:
        findings.append(
            Finding(
                AREA,
                Severity.WARNING,
                "perms.deep_world_writable",
                f"{counted(deep.world_writable_total, 'entry')} below {where}"
                " can be written by every user,"
                " who could alter or delete repository data.",
            )
        )
    if deep.console_denied:
        findings.append(
            Finding(
                AREA,
                Severity.UNKNOWN,
                "perms.deep_unchecked",
                f"The console could not look at {counted(deep.console_denied, 'entry')}"
                f" below {where}"
                " itself, so the deep check is incomplete; run it as root.",
            )
        )
    if deep.cancelled:
        findings.append(
            Finding(
                AREA,
                Severity.UNKNOWN,
                "perms.deep_cancelled",
                f"The deep check was cancelled after {counted(deep.scanned, 'entry')},"
                " so the rest of"
                f" {where} is unchecked.",
            )
        )
    return findings
