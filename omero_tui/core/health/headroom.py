"""Free space of the data dir's volume when no scan is on record yet.

The overview must not wait for a scan (minutes to hours on a large repository) to say
that a disk is nearly full: statvfs answers at once. Days-to-full needs a scan's growth
figures or past scans, so it is said to be unknown rather than guessed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.health.model import AreaHealth, summarise
from omero_tui.core.mounts import MountTable
from omero_tui.core.usage.headroom import WINDOW_DAYS, Projection, free_words, judge_volume
from omero_tui.core.usage.volumes import measure


def headroom_without_scan(location: ServerLocation, thresholds: Mapping[str, float]) -> AreaHealth:
    data_dir = os.path.abspath(location.data_dir.value or "")
    now = time.time()
    if not os.path.isdir(data_dir):
        finding = Finding(
            "usage",
            Severity.UNKNOWN,
            "usage.no_data_dir",
            f"The data dir {data_dir} is not there, so its free space cannot be measured.",
            data_dir,
        )
        return summarise("usage", [finding], finding.message, measured_at=now)
    volume = measure(data_dir, ("data dir",), MountTable.read())
    headroom = judge_volume(volume, Projection(None, "none", WINDOW_DAYS, None), thresholds)
    note = Finding(
        "usage",
        Severity.INFO,
        "usage.no_scan",
        "No scan on record yet: the repository's size and days-to-full are unknown until "
        "one runs (Disk usage panel, or `omero-tui usage`).",
        data_dir,
    )
    words = f"{free_words(volume)}; no scan on record yet, days-to-full unknown."
    return summarise(
        "usage",
        (*headroom.findings, note),
        words,
        severity=headroom.severity,
        measured_at=now,
        note="free space only: no scan on record",
    )
