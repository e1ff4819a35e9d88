"""All checks in one pass: what ``omero-tui check`` and the console's Overview run.

``run_health_check`` runs each area's own check (the same code as its panel and its
headless command) and gathers one ``HealthReport``. Slow parts are chosen by the
caller: the usage figures come from a full scan, a quick rescan, or the last scan on
record; the lock probe runs only when asked.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.health.areas import (
    database_area,
    guarded,
    layout_area,
    locks_area,
    not_judged_area,
    perms_area,
    relocation_area,
    server_area,
    usage_area,
)
from omero_tui.core.health.model import AREAS, HealthCancelled, HealthProgress, HealthReport
from omero_tui.core.settings import Settings
from omero_tui.core.usage.assemble import WalkResult, pyramid_lock_paths
from omero_tui.core.usage.format import progress_words, text_bar
from omero_tui.core.usage.report import UsageReport
from omero_tui.core.usage.service import UsageService

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.health.areas import AreaResult

USAGE_MODES = ("full", "quick", "cached")
__all__ = ["HealthCancelled", "HealthProgress", "run_health_check"]


def run_health_check(
    location: ServerLocation,
    *,
    settings: Settings | None = None,
    usage: UsageService | None = None,
    usage_mode: str = "full",
    probe: bool = False,
    state_dir: Path | None = None,
    progress: Callable[[HealthProgress], None] | None = None,
    cancel: threading.Event | None = None,
    now: Callable[[], float] = time.time,
    perms_user: str | None = None,
) -> HealthReport:
    """``perms_user``: judge permissions for this user rather than the server's own
    (the console's Overview follows the user picked on its Permissions panel)."""
    if usage_mode not in USAGE_MODES:
        raise ValueError(f"usage_mode must be one of {USAGE_MODES}")
    own_service = usage is None
    service = usage or UsageService(state_dir)
    total = len(AREAS)

    def tell(area: str, done: int, detail: str = "") -> None:
        if progress is not None:
            progress(HealthProgress(area, done, total, detail))

    scans: list[UsageReport] = []  # the usage scan made in this check, if any
    checks: dict[str, Callable[[], AreaResult]] = {
        "layout": lambda: layout_area(location),
        "usage": lambda: usage_area(
            location,
            service,
            usage_mode,
            progress=lambda p: tell("usage", 1, f"{text_bar(p.fraction)} {progress_words(p)}"),
            cancel=cancel,
            scanned=scans.append,
        ),
        "locks": lambda: locks_area(
            location,
            settings,
            probe=probe,
            progress=lambda p: tell("locks", 2, f"probe {p.done}/{p.total}"),
            cancel=cancel,
            pyramid_locks=_pyramid_locks(scans, location),
        ),
        "permissions": lambda: perms_area(location, settings, perms_user),
        "server": lambda: server_area(location, state_dir),
        "relocation": lambda: relocation_area(state_dir),
        "database": lambda: database_area(
            location,
            settings,
            progress=lambda p: tell("database", len(AREAS) - 1, f"{p.rows:,} rows"),
            cancel=cancel,
        ),
    }
    if location.on_windows_paths:  # nothing on this disk is the repository
        for name in ("usage", "locks", "permissions"):
            checks[name] = lambda name=name: not_judged_area(name, location)
    areas, metrics = [], {}
    try:
        for done, (name, _title) in enumerate(AREAS):
            if cancel is not None and cancel.is_set():
                raise HealthCancelled()
            tell(name, done)
            area, figures = guarded(name, checks[name])
            if cancel is not None and cancel.is_set():
                raise HealthCancelled()  # a cancelled scan or probe is not an answer
            areas.append(area)
            metrics.update(figures)
    finally:
        if own_service:
            service.close()
    tell("", total)
    return HealthReport(
        server_dir=location.server_dir.value,
        data_dir=location.data_dir.value or "",
        managed_dir=location.managed_dir.value or "",
        areas=tuple(areas),
        checked_at=now(),
        metrics=metrics,
    )


def _pyramid_locks(scans: list[UsageReport], location: ServerLocation) -> list[str] | None:
    """The pyramid lock files the usage scan just met, when it walked this repository's
    Pixels whole; else None, and the locks area lists Pixels itself."""
    if not scans or not isinstance(scans[-1].scan.raw, WalkResult):
        return None
    walk = scans[-1].scan.raw
    if walk.plan.data_dir != os.path.abspath(location.data_dir.value or ""):
        return None
    return pyramid_lock_paths(walk)
