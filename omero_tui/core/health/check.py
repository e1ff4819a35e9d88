"""All checks in one pass: what ``omero-tui check`` and the console's Overview run.

``run_health_check`` runs each area's own check (the same code as its panel and its
headless command) and gathers one ``HealthReport``. Slow parts are chosen by the
caller: the usage figures come from a full scan, a quick rescan, or the last scan on
record; the lock probe runs only when asked. ``omero-tui check`` has the other areas
checked in a forked child while it scans (``aside``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.health.guard import guarded, not_judged_area
from omero_tui.core.health.model import AREAS, HealthCancelled, HealthProgress, HealthReport
from omero_tui.core.settings import Settings
from omero_tui.core.usage.pool import can_fork

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.health.aside import AsideAreas
    from omero_tui.core.health.guard import AreaResult
    from omero_tui.core.usage.model import UsageScan
    from omero_tui.core.usage.service import UsageService

    Tell = Callable[..., None]
    Checks = dict[str, Callable[[], AreaResult]]
    OtherChecks = Callable[[Tell, Callable[[], object]], Checks]

USAGE_MODES = ("full", "quick", "cached")
# The areas that need the usage scan's findings (its pyramid lock files): checked last.
AFTER_SCAN = ("locks",)
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
    aside: bool = False,
    deployment_notes: bool = False,
) -> HealthReport:
    """``usage``: the service that scans (None: one made here, with the thresholds of
    ``settings``, and closed). ``perms_user``: judge permissions for this user rather
    than the server's own (the console's Overview follows the user picked on its
    Permissions panel). ``aside``: check every other area in a forked child while this
    process scans, where forking is safe (no other thread) and nothing can cancel: the
    same report, in about the time of the scan alone. ``deployment_notes``: the
    location was found without its deployment notes, which the Layout area, the one
    that shows them, adds (in that child, where there is one)."""
    if usage_mode not in USAGE_MODES:
        raise ValueError(f"usage_mode must be one of {USAGE_MODES}")
    total = len(AREAS)

    def tell(area: str, done: int, detail: str = "") -> None:
        if progress is not None:
            progress(HealthProgress(area, done, total, detail))

    def others(tell: Tell, pyramid_locks: Callable[[], object]) -> Checks:
        return _other_checks(
            location,
            settings,
            probe,
            state_dir,
            perms_user,
            tell,
            cancel,
            pyramid_locks,
            deployment_notes,
        )

    child = None
    if aside and cancel is None and can_fork():
        from omero_tui.core.health.aside import AsideAreas

        others_names = [name for name, _title in AREAS if name != "usage"]
        try:
            child = AsideAreas(
                others_names, others, after=AFTER_SCAN, progress=progress is not None
            )
        except OSError:  # no process to be had (a process limit, no memory): in turn, here
            child = None
    try:
        results = _check_all(
            location, settings, usage, usage_mode, state_dir, tell, cancel, others, child
        )
    finally:
        if child is not None:
            child.stop()  # reaped (killed first if this process failed before it answered)
    areas, metrics = [], {}
    for name, _title in AREAS:  # the report's order, the metrics' order too
        area, figures = results[name]
        areas.append(area)
        metrics.update(figures)
    tell("", total)
    return HealthReport(
        server_dir=location.server_dir.value,
        data_dir=location.data_dir.value or "",
        managed_dir=location.managed_dir.value or "",
        areas=tuple(areas),
        checked_at=now(),
        metrics=metrics,
    )


def _check_all(
    location: ServerLocation,
    settings: Settings | None,
    usage: UsageService | None,
    usage_mode: str,
    state_dir: Path | None,
    tell: Tell,
    cancel: threading.Event | None,
    others: OtherChecks,
    child: AsideAreas | None,
) -> dict[str, AreaResult]:
    # The scan's modules load here, after the fork: the child checks meanwhile.
    from omero_tui.core.health.usage_area import usage_area
    from omero_tui.core.usage.format import progress_words, text_bar
    from omero_tui.core.usage.service import UsageService, settings_thresholds

    service = usage or UsageService(state_dir, thresholds=lambda: settings_thresholds(settings))
    walks: list[UsageScan] = []  # the usage scan made in this check, once walked

    def walked(scan: UsageScan) -> None:
        walks.append(scan)
        if child is not None:  # the locks area there need not wait for the report
            child.hand_over(pyramid_locks())

    def usage_check() -> AreaResult:
        if location.on_windows_paths:  # nothing on this disk is the repository
            return not_judged_area("usage", location)
        return usage_area(
            location,
            service,
            usage_mode,
            progress=lambda p: tell("usage", 1, f"{text_bar(p.fraction)} {progress_words(p)}"),
            cancel=cancel,
            walked=walked,
        )

    def pyramid_locks() -> list[str] | None:
        return _pyramid_locks(walks, location)

    try:
        if child is None:
            checks = {"usage": usage_check, **others(tell, pyramid_locks)}
            return _check_in_turn(checks, tell, cancel)
        tell("usage", 1)
        scanned = guarded("usage", usage_check)
        child.hand_over(pyramid_locks())  # when there was no walk (a no-op after one)
        return {**child.collect(tell), "usage": scanned}
    finally:
        if usage is None:
            service.close()


def _check_in_turn(
    checks: Checks, tell: Tell, cancel: threading.Event | None
) -> dict[str, AreaResult]:
    results = {}
    for done, (name, _title) in enumerate(AREAS):
        if cancel is not None and cancel.is_set():
            raise HealthCancelled()
        tell(name, done)
        results[name] = guarded(name, checks[name])
        if cancel is not None and cancel.is_set():
            raise HealthCancelled()  # a cancelled scan or probe is not an answer
    return results


def _other_checks(
    location: ServerLocation,
    settings: Settings | None,
    probe: bool,
    state_dir: Path | None,
    perms_user: str | None,
    tell: Tell,
    cancel: threading.Event | None,
    pyramid_locks: Callable[[], object],
    deployment_notes: bool = False,
) -> dict[str, Callable[[], AreaResult]]:
    """Every area's check but usage's. Their modules load here, when a check runs (in
    ``omero-tui check``, in the child that runs them)."""
    from omero_tui.core.health.areas import (
        database_area,
        layout_area,
        locks_area,
        perms_area,
        relocation_area,
        server_area,
    )

    def layout() -> AreaResult:
        if not deployment_notes:
            return layout_area(location)
        from omero_tui.core.server.deployment import with_deployment_notes

        return layout_area(with_deployment_notes(location))

    checks: dict[str, Callable[[], AreaResult]] = {
        "layout": layout,
        "locks": lambda: locks_area(
            location,
            settings,
            probe=probe,
            progress=lambda p: tell("locks", 2, f"probe {p.done}/{p.total}"),
            cancel=cancel,
            pyramid_locks=pyramid_locks,  # type: ignore[arg-type]
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
        for name in ("locks", "permissions"):
            checks[name] = lambda name=name: not_judged_area(name, location)
    return checks


def _pyramid_locks(walks: list[UsageScan], location: ServerLocation) -> list[str] | None:
    """The pyramid lock files the usage scan just met, when it walked this repository's
    Pixels whole; else None, and the locks area lists Pixels itself."""
    from omero_tui.core.usage.assemble import WalkResult, pyramid_lock_paths

    if not walks or not isinstance(walks[-1].raw, WalkResult):
        return None
    walk = walks[-1].raw
    if walk.plan.data_dir != os.path.abspath(location.data_dir.value or ""):
        return None
    return pyramid_lock_paths(walk)
