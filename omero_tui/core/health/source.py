"""What the console's Overview reads through, injected so tests can freeze it.

The Overview shows the last report on record at once, then refreshes in the
background with the cheap form of every check: usage judged from the last scan on
record (no scan), no lock probe. Scans and probes stay one key away on their panels.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.health.cache import load_health, save_health
from omero_tui.core.health.model import HealthProgress, HealthReport
from omero_tui.core.record import frozen
from omero_tui.core.settings import Settings, SettingsError, default_state_dir


@frozen
class HealthSource:
    state_dir: Path | None = None  # None: default_state_dir()
    settings_path: Path | None = None  # None: the default settings file
    now: Callable[[], float] = time.time
    run: Callable[..., HealthReport] | None = None  # None: run_health_check

    # The checks import every area's core: only when a check runs, never on the way to
    # the console's first frame (which shows the cached report).

    @property
    def state(self) -> Path:
        return self.state_dir or default_state_dir()

    def cached(self, location: ServerLocation) -> HealthReport | None:
        return load_health(self.state, location.data_dir.value or "")

    def check(
        self,
        location: ServerLocation,
        *,
        progress: Callable[[HealthProgress], None] | None = None,
        cancel: threading.Event | None = None,
        perms_user: str | None = None,
    ) -> HealthReport:
        """``perms_user``: permissions judged for a user picked in the console; such a
        report is not kept as the last check on record (that one is for the server's user)."""
        from omero_tui.core.health.check import run_health_check
        from omero_tui.core.usage.service import UsageService, settings_thresholds

        try:
            settings: Settings | None = Settings.load(self.settings_path)
        except SettingsError:
            settings = None  # the Layout panel shows a broken settings file
        usage = UsageService(
            self.state, now=self.now, thresholds=lambda: settings_thresholds(settings)
        )
        with usage:
            report = (self.run or run_health_check)(
                location,
                settings=settings,
                usage=usage,
                usage_mode="cached",
                probe=False,
                state_dir=self.state,
                progress=progress,
                cancel=cancel,
                now=self.now,
                perms_user=perms_user,
            )
        if perms_user is None:
            with contextlib.suppress(OSError):  # a read-only state dir costs the head start only
                save_health(report, self.state)
        return report
