"""A fixed database report for the panel's snapshots: the demo's faults, no cluster needed."""

from __future__ import annotations

from omero_tui.core.database.findings import judge
from omero_tui.core.database.model import (
    AreaTotals,
    DbReport,
    DbRepository,
    FileIssue,
    OwnerTally,
    Tally,
    UserUsage,
)
from omero_tui.core.discovery import ServerLocation


def fixed_report(location: ServerLocation) -> DbReport:
    data, managed = location.data_dir.value or "", location.managed_dir.value or ""
    report = DbReport(
        connection={
            "host": "/run/postgresql",
            "port": 5432,
            "name": "omero",
            "user": "omero",
            "password_set": True,
            "source": "config.xml",
        },
        server_version="15.0",
        db_uuid="7d1b5c0a-0000-4000-8000-000000000001",
        data_dir=data,
        managed_dir=managed,
    )
    report.repositories = [
        DbRepository(1000000, "9494b4d3", data, "data dir", data, True),
        DbRepository(1000001, "4c61bcf4", managed, "managed dir", managed, True),
        DbRepository(
            1000002,
            "ScriptRepo",
            "/opt/omero/server/OMERO.server/lib/scripts",
            "script repository",
            None,
            None,
        ),
    ]
    lost = "user-2_2/2025-07/15/14-24-07.575/lost_scan.czi"
    orphan = "user-3_3/2026-11/18/07-53-42.050/yeast_timelapse_Z02.ome.tif"
    report.areas = [
        AreaTotals(
            "ManagedRepository",
            managed,
            db_rows=615,
            disk_files=374,
            db_bytes=35401131,
            matched=Tally(373, 35277675),
            missing=Tally(1, 123456),
            orphans=Tally(1, 3726),
        ),
        AreaTotals(
            "Files",
            f"{data}/Files",
            db_rows=200,
            disk_files=200,
            db_bytes=1646510,
            matched=Tally(199, 1642414),
            missing=Tally(1, 4096),
            orphans=Tally(1, 2755),
        ),
        AreaTotals(
            "Pixels",
            f"{data}/Pixels",
            db_rows=301,
            disk_files=320,
            matched=Tally(301, 1004758),
            kept_on_purpose=Tally(19, 67749560),
        ),
        AreaTotals(
            "Thumbnails",
            f"{data}/Thumbnails",
            db_rows=340,
            disk_files=340,
            matched=Tally(340, 1435262),
        ),
    ]
    report.missing = [
        FileIssue("ManagedRepository", lost, "missing", 1000350, "user-2", "lab-a", 123456),
        FileIssue("Files", "Dir-900/900001", "missing", 900001, "user-3", "lab-a", 4096),
    ]
    report.orphans = [
        FileIssue("ManagedRepository", orphan, "orphan", disk_size=3726),
        FileIssue("Files", "17", "orphan", disk_size=2755),
    ]
    report.by_owner = [
        OwnerTally("user-2", "lab-a", missing=Tally(1, 123456), examples=[lost]),
        OwnerTally("user-3", "lab-a", missing=Tally(1, 4096), examples=["Files/Dir-900/900001"]),
    ]
    report.usage = [
        UserUsage(2, "user-2", 3, "lab-a", 235, 34957455),
        UserUsage(3, "user-3", 3, "lab-a", 251, 1488829),
        UserUsage(0, "root", 0, "system", 88, 601357),
    ]
    report.findings = judge(report, location)
    return report
