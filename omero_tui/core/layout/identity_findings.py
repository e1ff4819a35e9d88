"""Judging a repository's hidden identity: ``.omero/repository/<db-uuid>/repo_uuid``.

The server recognises its repositories by these files alone, so one that is missing
where data is, unreadable, or shared by several databases is worth saying out loud.
"""

from __future__ import annotations

import os

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.layout.identity import IDENTITY_DIR, REPO_UUID_FILE, RepoIdentity

AREA = "layout"


def layout_finding(severity: Severity, code: str, message: str, path: str | None) -> Finding:
    """A finding of the layout check (also used by ``layout_findings``)."""
    return Finding(area=AREA, severity=severity, code=code, message=message, path=path)


def identity_findings(identity: RepoIdentity, repo_dir: str, holds_data: bool) -> list[Finding]:
    role = identity.role
    where = os.path.join(repo_dir, *IDENTITY_DIR)
    if identity.error:
        severity = Severity.WARNING if identity.denied else Severity.CRITICAL
        return [
            layout_finding(
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
            layout_finding(
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
                layout_finding(
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
        return layout_finding(
            Severity.WARNING,
            "layout.several_databases",
            f"The {identity.role} has identities for {count} databases and {len(locked)} hold"
            " a .lock: if two servers with different databases use it at once, their file"
            " ids collide and overwrite each other's data.",
            where,
        )
    return layout_finding(
        Severity.INFO,
        "layout.several_databases",
        f"The {identity.role} has identities for {count} databases: it was used with another"
        " database before (a restored or re-created database, or a test server); only the"
        " current database's one is used.",
        where,
    )


def identity_mismatch(data_identity: RepoIdentity, managed_identity: RepoIdentity) -> list[Finding]:
    data_dbs = {e.db_uuid for e in data_identity.entries}
    managed_dbs = {e.db_uuid for e in managed_identity.entries}
    if not data_dbs or not managed_dbs or data_dbs & managed_dbs:
        return []
    return [
        layout_finding(
            Severity.WARNING,
            "layout.identity_mismatch",
            "The data dir and the managed dir were used with different databases: they do not"
            " belong together (was one of them restored or copied from another server?).",
            managed_identity.repo_dir,
        )
    ]
