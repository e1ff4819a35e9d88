"""A frozen health report for the Overview's pilot and snapshot tests."""

from __future__ import annotations

from datetime import UTC, datetime

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.health.model import AreaHealth, HealthReport
from omero_tui.core.health.source import HealthSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
DATA = "/tmp/omero-tui-snapshot-demo/OMERO"


def frozen_report(checked_at: float = NOW - 120, *, warn: bool = True) -> HealthReport:
    usage = Finding(
        "usage",
        Severity.WARNING,
        "usage.days_to_full",
        "At the last 90 days' rate (past scans) /dev/vdb on /data (xfs) is full in 41 days: "
        "plan more space before imports start failing.",
        "/data",
    )
    areas = (
        AreaHealth("layout", Severity.OK, "Every subdirectory and the identity are where OMERO "
                   "expects.", (), checked_at),
        AreaHealth("usage", Severity.WARNING if warn else Severity.OK,
                   usage.message if warn else "812 GiB free (79%), not growing.",
                   (usage,) if warn else (), checked_at - 7200,
                   "full scan of 2026-11-23 09:58 UTC"),
        AreaHealth("locks", Severity.OK, "ext4: a local filesystem with trusted locking.", (),
                   checked_at, "lock probe not run"),
        AreaHealth("permissions", Severity.OK, "omero-server can read, write and enter every "
                   "directory the server needs.", (), checked_at),
        AreaHealth("server", Severity.OK, "Running as omero-server: 9 process(es) (Blitz-0, "
                   "Indexer-0, PixelData-0, Processor-0, Tables-0, icegridnode).", (), checked_at),
        AreaHealth("relocation", Severity.OK, "No relocation in progress.", (), checked_at),
    )  # fmt: skip
    return HealthReport("/opt/omero/server/OMERO.server", DATA, f"{DATA}/ManagedRepository",
                        areas, checked_at)  # fmt: skip


def frozen_health(state_dir, report: HealthReport | None = None) -> HealthSource:  # noqa: ANN001
    """Checks answer ``report`` at once; the clock stands at NOW."""
    answer = report or frozen_report()

    def run(location, **_):  # noqa: ANN001, ANN003, ANN202
        return answer

    return HealthSource(state_dir=state_dir, now=lambda: NOW, run=run)
