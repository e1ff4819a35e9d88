"""How long until full: growth rate per volume, days to full, and the verdict in words.

The rate is the growth of the last WINDOW_DAYS days, taken from past scans when they
span at least a week of it (the volume's used bytes: whatever else fills the disk
counts too), otherwise from the scan itself: bytes of files modified in the window
(ManagedRepository by import date, read from the fileset paths). Thresholds come from
the settings file: free space under ``free_warn_percent``/``free_critical_percent``
or fewer days than ``days_warn``/``days_critical`` raise WARNING/CRITICAL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.record import frozen
from omero_tui.core.settings import DEFAULT_THRESHOLDS
from omero_tui.core.usage.format import human_bytes, human_days
from omero_tui.core.usage.history import HistoryPoint
from omero_tui.core.usage.model import Growth, UsageScan
from omero_tui.core.usage.volumes import Volume

WINDOW_DAYS = 90
MIN_HISTORY_SPAN_DAYS = 7
DAY = 86400


@frozen
class Projection:
    rate_bytes_per_day: float | None  # None: nothing to measure a rate from
    source: str  # "past scans" | "file dates" | "none"
    window_days: int
    days_to_full: float | None  # None: not growing, or unknown

    def to_json(self) -> dict[str, object]:
        return {
            "rate_bytes_per_day": self.rate_bytes_per_day,
            "source": self.source,
            "window_days": self.window_days,
            "days_to_full": self.days_to_full,
        }


@frozen
class Headroom:
    volume: Volume
    projection: Projection
    severity: Severity
    words: str  # "~41 days until full at the last 90 days' rate"
    findings: tuple[Finding, ...]


def assess(
    scan: UsageScan,
    volumes: Sequence[Volume],
    history: Sequence[HistoryPoint],
    now: float,
    thresholds: Mapping[str, float] | None = None,
) -> tuple[Headroom, ...]:
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return tuple(
        judge_volume(volume, project(scan, volume, history, now), limits) for volume in volumes
    )


def project(
    scan: UsageScan, volume: Volume, history: Sequence[HistoryPoint], now: float
) -> Projection:
    rate, source = _history_rate(volume, history, now)
    if rate is None:
        rate, source = _file_date_rate(scan, volume, now), "file dates"
    days = None
    if rate and rate > 0 and volume.free_bytes is not None:
        days = volume.free_bytes / rate
    return Projection(rate, source if rate is not None else "none", WINDOW_DAYS, days)


def _history_rate(
    volume: Volume, history: Sequence[HistoryPoint], now: float
) -> tuple[float | None, str]:
    since = now - WINDOW_DAYS * DAY
    points = [
        (p.at, p.volumes[volume.mount_point].used_bytes)
        for p in history
        if p.at >= since and volume.mount_point in p.volumes
    ]
    if volume.used_bytes is not None:
        points.append((now, volume.used_bytes))
    if len(points) < 2:
        return None, ""
    points.sort()
    span = (points[-1][0] - points[0][0]) / DAY
    if span < MIN_HISTORY_SPAN_DAYS:
        return None, ""
    return (points[-1][1] - points[0][1]) / span, "past scans"


def _file_date_rate(scan: UsageScan, volume: Volume, now: float) -> float:
    first_day = int(now // DAY) - WINDOW_DAYS
    rows = _rows_on(scan, volume)
    growth: Growth = scan.growth
    recent = 0
    for name, days in growth.by_mtime.items():
        if name not in rows:
            continue
        if name == growth.managed_unit and growth.managed_by_import:
            days = growth.managed_by_import  # an in-place import keeps its old mtimes
        recent += sum(b for d, b in days.items() if d >= first_day)
    return recent / WINDOW_DAYS


def _rows_on(scan: UsageScan, volume: Volume) -> set[str]:
    """The rows (by growth key) whose data lives on ``volume``."""
    roots = {
        i for i, r in enumerate(scan.roots) if (("data dir" if i == 0 else r.name) in volume.holds)
    }
    rows = {u.name for u in scan.units if u.root in roots}
    if 0 in roots:
        rows.add("")  # files at the data dir's top level
    return rows


def judge_volume(volume: Volume, projection: Projection, limits: Mapping[str, float]) -> Headroom:
    """One volume's verdict against the thresholds; a projection may say growth unknown."""
    where = volume.device or volume.mount_point
    if volume.error is not None or volume.free_percent is None:
        finding = Finding(
            "usage",
            Severity.UNKNOWN,
            "usage.volume_unreadable",
            f"Cannot measure the free space of {where} ({volume.error or 'no size reported'}), "
            "so nothing says how close it is to full.",
            volume.path,
        )
        return Headroom(volume, projection, Severity.UNKNOWN, "free space unknown", (finding,))
    findings: list[Finding] = []
    free_pct = volume.free_percent
    level = _level(free_pct, limits["free_warn_percent"], limits["free_critical_percent"])
    if level is not None:
        findings.append(
            Finding(
                "usage",
                level,
                "usage.free_space_low",
                f"Only {free_pct:.0f}% of {where} is free ({human_bytes(volume.free_bytes or 0)}): "
                "OMERO has no guard against a full disk, and imports fail once it fills.",
                volume.mount_point,
            )
        )
    inode_pct = volume.free_inode_percent
    inode_level = None
    if inode_pct is not None:
        inode_level = _level(
            inode_pct, limits["free_warn_percent"], limits["free_critical_percent"]
        )
    if inode_level is not None:
        findings.append(
            Finding(
                "usage",
                inode_level,
                "usage.inodes_low",
                f"Only {inode_pct:.0f}% of the inodes of {where} are free "
                f"({volume.free_inodes:,}): no new file can be created once they run out, "
                "however much space is left.",
                volume.mount_point,
            )
        )
    days = projection.days_to_full
    days_level = None
    if days is not None:
        days_level = _level(days, limits["days_warn"], limits["days_critical"])
    if days_level is not None:
        findings.append(
            Finding(
                "usage",
                days_level,
                "usage.days_to_full",
                f"At the last {projection.window_days} days' rate ({projection.source}) {where} "
                f"is full in {human_days(days or 0)}: "
                "plan more space before imports start failing.",
                volume.mount_point,
            )
        )
    severity = worst(findings)
    words = f"{free_words(volume)}, {_days_words(projection)}"
    return Headroom(volume, projection, severity, words, tuple(findings))


def _level(value: float, warn: float, critical: float) -> Severity | None:
    if value < critical:
        return Severity.CRITICAL
    if value < warn:
        return Severity.WARNING
    return None


def free_words(volume: Volume) -> str:
    """``"79.6 GiB free (32%)"``."""
    if volume.free_percent is None:
        return "free space unknown"
    return f"{human_bytes(volume.free_bytes or 0)} free ({volume.free_percent:.0f}%)"


def _days_words(projection: Projection) -> str:
    window = f"the last {projection.window_days} days' rate"
    if projection.rate_bytes_per_day is None:
        return "growth unknown"
    if projection.days_to_full is None:
        return f"not growing at {window}"
    return f"{human_days(projection.days_to_full)} until full at {window}"
