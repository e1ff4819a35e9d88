"""The Disk usage area: a scan, a quick rescan or the last scan on record, in one line.

Apart from the other areas (``areas``): ``omero-tui check`` runs this one in its own
process while a forked child checks the rest (``aside``), and loads only its modules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.health.headroom import headroom_without_scan
from omero_tui.core.health.model import summarise
from omero_tui.core.usage.format import human_bytes, stamp
from omero_tui.core.usage.plan import UsageError
from omero_tui.core.usage.report import UsageReport
from omero_tui.core.usage.service import UsageService

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    from omero_tui.core.health.guard import AreaResult, Metrics
    from omero_tui.core.usage.model import UsageScan


def usage_area(
    location: ServerLocation,
    service: UsageService,
    mode: str,
    *,
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
    walked: Callable[[UsageScan], None] | None = None,
) -> AreaResult:
    """``mode``: "full" scans, "quick" rescans, "cached" judges the last scan on record.
    ``walked`` is handed a scan made now (not one from the record) as soon as it is
    walked (see ``UsageService.scan``)."""
    if mode == "cached":
        report = service.last_report(location)
        if report is None:
            return headroom_without_scan(location, service.thresholds()), {}
    else:
        try:
            report = service.scan(
                location, quick=mode == "quick", progress=progress, cancel=cancel, walked=walked
            )
        except UsageError as err:
            finding = Finding(
                "usage", Severity.UNKNOWN, "usage.cannot_scan", f"Cannot measure: {err}."
            )
            return summarise("usage", [finding], finding.message, measured_at=time.time()), {}
    kind = "quick rescan" if report.scan.quick else "full scan"
    area = summarise(
        "usage",
        report.findings,
        f"{report.verdict_words}; repository {human_bytes(report.scan.totals.allocated_bytes)}.",
        severity=report.verdict,
        measured_at=report.scan.finished_at,
        note=f"{kind} of {stamp(report.scan.finished_at)}",
    )
    return area, usage_metrics(report)


def usage_metrics(report: UsageReport) -> Metrics:
    scan = report.scan
    return {
        "subdirectories": [
            {
                "name": u.name,
                "allocated_bytes": u.totals.allocated_bytes,
                "apparent_bytes": u.totals.apparent_bytes,
                "files": u.totals.files,
            }
            for u in scan.units
        ],
        "repository": {
            "allocated_bytes": scan.totals.allocated_bytes,
            "apparent_bytes": scan.totals.apparent_bytes,
            "files": scan.totals.files,
        },
        "scanned_at": scan.finished_at,
        "volumes": [
            {
                "mount_point": h.volume.mount_point,
                "free_bytes": h.volume.free_bytes,
                "total_bytes": h.volume.total_bytes,
                "free_inodes": h.volume.free_inodes,
                "days_to_full": h.projection.days_to_full,
            }
            for h in report.headroom
        ],
    }
