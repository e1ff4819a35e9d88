"""OMERO's own records as proof of a relocation, read-only.

With the database reachable: the preflight records a baseline (what the records say of
the source: files known, already missing, already of another size); the verify step
checks the copy against the same records and fails if it lacks any file the source
had, or holds one of another size; after the start the done step says which root the
database now records for the moved repository. Without a database the relocation is
still verified file by file against the source, and says that it was not checked
against OMERO's records. The console never writes the database.
"""

from __future__ import annotations

import os
from typing import Any

from omero_tui.core.database.check import (
    DatabaseNotConfigured,
    DatabaseUnavailable,
    check_database,
    recorded_roots,
)
from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.findings import counted
from omero_tui.core.record import replace
from omero_tui.core.relocation.checks import Check, passed, warn
from omero_tui.core.usage.format import human_bytes

CODE = "relocation.database"


def summarise(report: Any) -> dict[str, Any]:
    missing, differs = report.total("missing"), report.total("size_differs")
    return {
        "rows": sum(a.db_rows for a in report.areas),
        "present": report.total("matched").count,
        "missing": missing.count,
        "missing_bytes": missing.bytes,
        "size_differs": differs.count,
        "examples": [f"{i.area}/{i.path}" for i in report.missing[:5]],
    }


def baseline(location: ServerLocation) -> tuple[Check, dict[str, Any] | None]:
    """The preflight's check and, with a database, the baseline to verify against."""
    try:
        report = check_database(location)
    except DatabaseNotConfigured:
        return passed(
            CODE,
            "no database configured: the copy is verified file by file "
            "against the source, not against OMERO's records",
        ), None
    except DatabaseUnavailable as err:
        return passed(
            CODE,
            f"OMERO's database cannot be read ({err}): the copy is verified "
            "against the source only",
        ), None
    base = summarise(report)
    words = (
        f"OMERO's database knows {counted(base['present'], 'file')} here; baseline recorded for "
        "the verify step"
    )
    if base["missing"] or base["size_differs"]:
        words += (
            f"; {base['missing']:,} already missing ({human_bytes(base['missing_bytes'])}) and "
            f"{base['size_differs']:,} of another size before the move"
        )
        return warn(CODE, words), base
    return passed(CODE, words), base


def rebased(location: ServerLocation, source: str, target: str) -> ServerLocation:
    """The same server with every repository dir under ``source`` moved to ``target``."""

    def move(value: Determined) -> Determined:
        path = value.value or ""
        if path == source or path.startswith(source.rstrip(os.sep) + os.sep):
            moved = target + path[len(source.rstrip(os.sep)) :]
            return Determined(moved, f"{value.how}, moved to the copy")
        return value

    return replace(
        location, data_dir=move(location.data_dir), managed_dir=move(location.managed_dir)
    )


def verify_copy(location: ServerLocation, base: dict[str, Any]) -> tuple[bool, str]:
    """(ok, one line): the copy against the records, compared with the baseline."""
    try:
        report = check_database(location)
    except DatabaseUnavailable as err:
        return True, (
            f"OMERO's database could not be read now ({err}); the copy was verified "
            "against the source only"
        )
    now = summarise(report)
    lost = now["missing"] - base["missing"]
    changed = now["size_differs"] - base["size_differs"]
    if lost > 0 or changed > 0:
        examples = ", ".join(e for e in now["examples"] if e not in base["examples"][:5])
        return False, (
            f"the copy lacks {counted(max(lost, 0), 'file')} OMERO's database knows and "
            f"{max(changed, 0):,} differ in size from its records (e.g. {examples or 'see db'})"
        )
    return True, (
        f"OMERO's database: all {counted(now['present'], 'file')} it knows of the source are in "
        "the copy with their recorded sizes"
    )


def roots_after_start(
    location: ServerLocation, uuids: list[str], target: str
) -> list[tuple[str, str, bool]]:
    """(uuid, recorded root, root is under the target) of the moved repositories."""
    try:
        roots = recorded_roots(location)
    except DatabaseUnavailable:
        return []
    out = []
    for uuid in uuids:
        root = roots.get(uuid)
        if root is not None:
            norm = os.path.normpath(root)
            out.append((uuid, root, norm == target or norm.startswith(target + os.sep)))
    return out
