"""One place that runs a usage scan end to end, for the panel and the headless command.

Scan (full, quick, or with an ncdu export), measure the volumes, remember the scan
(cache for the next quick rescan and a fast start; a line of history for the trend),
and build the report. ``last_report`` rebuilds the report from the cache without
scanning: what the panel shows the moment it opens.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from omero_tui.core.discovery import ServerLocation, windows_not_judged
from omero_tui.core.record import frozen, replace
from omero_tui.core.settings import DEFAULT_THRESHOLDS, Settings, SettingsError, default_state_dir
from omero_tui.core.usage.assemble import WalkResult, assemble
from omero_tui.core.usage.cache import load_walk, store_scan
from omero_tui.core.usage.history import VolumePoint, append_history, read_history
from omero_tui.core.usage.model import UsageProgress, UsageScan
from omero_tui.core.usage.plan import UsageError
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.report import UsageReport, build_report
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.volumes import VolumeReader, read_volumes

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.usage.files import FileListing


def largest_files(path: str, limit: int) -> FileListing:
    """The panel's file list (usage.files, imported when a panel first asks)."""
    from omero_tui.core.usage.files import largest_files as listing

    return listing(path, limit)


def settings_thresholds(settings: Settings | None = None) -> dict[str, float]:
    """The verdict thresholds of the settings file (defaults when it cannot be read)."""
    try:
        settings = settings or Settings.load()
        return {name: settings.threshold(name) for name in DEFAULT_THRESHOLDS}
    except (SettingsError, ValueError, TypeError):
        return dict(DEFAULT_THRESHOLDS)


class UsageService:
    """Scans and remembers. Owns a worker pool, started at the first scan: ``close()`` it."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        now: Callable[[], float] = time.time,
        volumes: VolumeReader = read_volumes,
        thresholds: Callable[[], Mapping[str, float]] = settings_thresholds,
        files: Callable[[str, int], FileListing] = largest_files,
        workers: int | None = None,
        inline: int | None = None,
    ) -> None:
        self._state_dir = state_dir
        self.now = now
        self.read_volumes = volumes
        self.thresholds = thresholds
        self.list_files = files
        self.pool = ScanPool(workers, inline=inline)
        # The last scan of each repository; from the cache, its walk only, summed up
        # when a report of it is asked for (a rescan needs only the walk).
        self._last: dict[str, UsageScan | WalkResult] = {}
        self._lock = threading.Lock()

    @property
    def state_dir(self) -> Path:
        return self._state_dir or default_state_dir()

    def last_report(self, location: ServerLocation) -> UsageReport | None:
        """The report of the last scan on record, re-judged now; None if never scanned."""
        data_dir = _data_dir(location)
        found = self._remembered(data_dir)
        if found is None:
            return None
        if isinstance(found, WalkResult):
            scan = assemble(found)
            with self._lock:
                if self._last.get(data_dir) is found:
                    self._last[data_dir] = scan
        else:
            scan = found
        return self._report(scan, self.read_volumes(scan))

    def scan(
        self,
        location: ServerLocation,
        *,
        quick: bool = False,
        export: Path | None = None,
        progress: Callable[[UsageProgress], None] | None = None,
        cancel: threading.Event | None = None,
        walked: Callable[[UsageScan], None] | None = None,
    ) -> UsageReport:
        """Scan, record and report. ``quick`` falls back to a full scan with nothing to reuse.
        ``walked`` is handed the scan as soon as the walk is done, before it is recorded
        and judged (``check`` hands the lock files it met to the locks area then)."""
        data_dir, managed = _data_dir(location), location.managed_dir.value
        previous = self._remembered(data_dir)
        if export is not None:
            from omero_tui.core.usage.export import export_scan  # the rare case: load it then

            scan = export_scan(data_dir, export, managed, progress=progress, cancel=cancel)
        elif quick and previous is not None and _walk_of(previous) is not None:
            from omero_tui.core.usage.quick import quick_rescan  # not paid by a full scan

            scan = quick_rescan(previous, managed, progress=progress, cancel=cancel, pool=self.pool)
        else:
            scan = scan_usage(
                data_dir,
                managed,
                pool=self.pool,
                previous=previous,
                progress=progress,
                cancel=cancel,
            )
        if walked is not None:
            walked(scan)
        volumes = self.read_volumes(scan)
        self._record(scan, volumes)
        return self._report(scan, volumes)

    def files(self, path: str, limit: int = 100) -> FileListing:
        return self.list_files(path, limit)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> UsageService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ inside

    def _remembered(self, data_dir: str) -> UsageScan | WalkResult | None:
        with self._lock:
            scan = self._last.get(data_dir)
        if scan is None:
            found = load_walk(self.state_dir, data_dir)
            if found is not None:
                with self._lock:
                    scan = self._last.setdefault(data_dir, found)
        return scan

    def _record(self, scan: UsageScan, volumes: tuple) -> None:
        with self._lock:
            self._last[scan.data_dir] = scan
        points = {
            v.mount_point: VolumePoint(v.used_bytes, v.total_bytes)
            for v in volumes
            if v.used_bytes is not None and v.total_bytes is not None
        }
        try:
            saved = store_scan(scan, self.state_dir)
            append_history(scan, points, self.state_dir)
        except OSError:
            return  # an unwritable state dir costs the next quick rescan, not this report
        walk = scan.raw
        if isinstance(walk, WalkResult) and walk.stored_as != saved.token:
            # The next quick rescan that finds nothing changed then writes only a head.
            stored = replace(scan, raw=replace(walk, stored_as=saved.token))
            with self._lock:
                if self._last.get(scan.data_dir) is scan:
                    self._last[scan.data_dir] = stored

    def _report(self, scan: UsageScan, volumes: tuple) -> UsageReport:
        history = read_history(self.state_dir, scan.data_dir)
        return build_report(scan, volumes, history, self.now(), self.thresholds())


def _walk_of(scan: UsageScan | WalkResult) -> WalkResult | None:
    if isinstance(scan, WalkResult):
        return scan
    return scan.raw if isinstance(scan.raw, WalkResult) else None


def _data_dir(location: ServerLocation) -> str:
    if location.on_windows_paths:  # joined with the cwd it would measure some other folder
        raise UsageError(windows_not_judged(location, "usage").message)
    return os.path.abspath(location.data_dir.value or "")


@frozen
class UsageSource:
    """How the Disk usage panel gets its service; tests freeze the clock and volumes.

    Each panel makes its own service (and so its own worker pool) and closes it when
    it goes away, so no worker outlives the console.
    """

    state_dir: Path | None = None
    now: Callable[[], float] = time.time
    volumes: VolumeReader = read_volumes
    thresholds: Callable[[], Mapping[str, float]] = settings_thresholds
    files: Callable[[str, int], FileListing] = largest_files
    workers: int | None = None
    inline: int | None = None  # entries walked in the console before workers start
    make: Callable[..., UsageService] = UsageService

    def service(self) -> UsageService:
        return self.make(
            self.state_dir,
            now=self.now,
            volumes=self.volumes,
            thresholds=self.thresholds,
            files=self.files,
            workers=self.workers,
            inline=self.inline,
        )
