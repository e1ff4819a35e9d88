"""Turn a database check into findings: what is CRITICAL, what is a WARNING, and why."""

from __future__ import annotations

from omero_tui.core.database.model import DbReport
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity, counted
from omero_tui.core.usage.format import human_bytes

AREA = "database"


def _f(severity: Severity, code: str, message: str, path: str | None = None) -> Finding:
    return Finding(AREA, severity, f"database.{code}", message, path)


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _are(n: int) -> str:
    return _verb(n, "is", "are")


def _them(n: int) -> str:
    return _verb(n, "it", "them")


def judge(report: DbReport, location: ServerLocation) -> list[Finding]:
    out: list[Finding] = []
    missing, differs = report.total("missing"), report.total("size_differs")
    orphans = report.total("orphans")
    if missing.count:
        out.append(
            _f(
                Severity.CRITICAL,
                "missing",
                f"{counted(missing.count, 'file')} the database knows "
                f"({human_bytes(missing.bytes)}) {_are(missing.count)} missing on disk: "
                f"the server cannot read {_them(missing.count)}.",
            )
        )
    if differs.count:
        out.append(
            _f(
                Severity.CRITICAL,
                "size_differs",
                f"{counted(differs.count, 'file')} {_verb(differs.count, 'differs', 'differ')} in "
                "size from what the database records: truncated or replaced.",
            )
        )
    if report.hash_differs_total.count:
        out.append(
            _f(
                Severity.CRITICAL,
                "hash_differs",
                f"{counted(report.hash_differs_total.count, 'file')} "
                f"{_verb(report.hash_differs_total.count, 'does', 'do')} not match the "
                "recorded checksum: the content changed.",
            )
        )
    if orphans.count:
        out.append(
            _f(
                Severity.WARNING,
                "orphans",
                f"{counted(orphans.count, 'file')} on disk ({human_bytes(orphans.bytes)}) "
                f"{_are(orphans.count)} known to no database row: leftovers of failed "
                "imports or deletions, or data from another database.",
            )
        )
    for repo in report.repositories:
        if repo.matches is False:
            out.append(
                _f(
                    Severity.WARNING,
                    "root_differs",
                    f"The database records the {repo.role}'s repository root as {repo.root}; "
                    f"the configuration says {repo.configured}. The server updates the row at "
                    "its next start ('Data directory moved').",
                    repo.root,
                )
            )
    known = {r.uuid for r in report.repositories}
    for role, uuid in report.disk_identities.items():
        directory = location.managed_dir.value if role == "managed dir" else location.data_dir.value
        if uuid and uuid not in known:
            out.append(
                _f(
                    Severity.CRITICAL,
                    "identity_unknown",
                    f"The {role}'s identity on disk (repo_uuid {uuid}) is unknown to this "
                    "database: the server would register a new, empty repository there. "
                    "Is this the right database (omero.db.name)?",
                    directory,
                )
            )
    if report.disk_identities.get("managed dir") is None and not any(
        r.role == "managed dir" for r in report.repositories
    ):
        out.append(
            _f(
                Severity.UNKNOWN,
                "managed_unplaced",
                "No repository row could be matched to the managed dir (no identity on "
                "disk, no recorded root equal to it): its files were not compared.",
                location.managed_dir.value,
            )
        )
    if report.unsafe_count:
        out.append(
            _f(
                Severity.WARNING,
                "unsafe_rows",
                f"{counted(report.unsafe_count, 'row')} "
                f"{_verb(report.unsafe_count, 'holds', 'hold')} a path that cannot lie "
                "inside the repository ('..', absolute, NUL or empty parts), not used.",
            )
        )
    if report.non_utf8_rows:
        out.append(
            _f(
                Severity.WARNING,
                "non_utf8_rows",
                f"{counted(len(report.non_utf8_rows), 'row')} "
                f"{_verb(len(report.non_utf8_rows), 'holds a path', 'hold paths')} that "
                f"{_are(len(report.non_utf8_rows))} not UTF-8.",
            )
        )
    if report.duplicate_rows:
        out.append(
            _f(
                Severity.WARNING,
                "duplicate_rows",
                f"{counted(report.duplicate_rows, 'row')} "
                f"{_verb(report.duplicate_rows, 'names', 'name')} the same path as another row.",
            )
        )
    for area in report.areas:
        if not area.checked:
            out.append(
                _f(
                    Severity.UNKNOWN,
                    "area_not_checked",
                    f"{area.area} was not compared: {area.note}.",
                    area.directory,
                )
            )
    if report.walk_errors:
        out.append(
            _f(
                Severity.UNKNOWN,
                "walk_errors",
                f"{len(report.walk_errors)} director(ies) could not be listed, first: "
                f"{report.walk_errors[0]}.",
            )
        )
    if report.verify_hash and report.hash_unverifiable:
        parts = ", ".join(f"{n} {k}" for k, n in sorted(report.hash_unverifiable.items()))
        out.append(
            _f(
                Severity.INFO,
                "hash_unverifiable",
                f"Some checksums could not be verified here: {parts}.",
            )
        )
    return out
