"""Disk usage panel: where the space goes, how much is left and how long it lasts.

At start it shows the last scan on record (and its age) without scanning: ``s`` runs a
full scan, ``u`` a quick rescan, ``c`` cancels. Scans run in a thread worker that only
posts messages; the walking itself is done by the service's worker processes, so the
console stays responsive. Enter opens a directory (ncdu style), Backspace goes back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, ProgressBar, Sparkline, Static

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Severity
from omero_tui.core.usage.files import FileListing
from omero_tui.core.usage.format import human_bytes, human_count
from omero_tui.core.usage.model import ScanCancelled
from omero_tui.core.usage.plan import UsageError
from omero_tui.core.usage.report import UsageReport
from omero_tui.core.usage.service import UsageService
from omero_tui.tui.changes import LOCATION, USAGE, Change, FollowsChanges, changed
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.presentation import severity_text
from omero_tui.tui.widgets.usage_messages import (
    UsageExported,
    UsageFailed,
    UsageFilesListed,
    UsageLoaded,
    UsageScanCancelled,
    UsageScanProgress,
)
from omero_tui.tui.widgets.usage_render import (
    SORTS,
    Level,
    Row,
    bar,
    detail_text,
    findings_text,
    level_path,
    level_totals,
    progress_line,
    rows_for,
    scan_line,
    sort_rows,
    trend_series,
    verdict_line,
    volumes_text,
)

NAME_WIDTH = 26
# Column key -> header; the sort keys ("size", "name", "files") are column keys too.
COLUMNS = {
    "name": "Name",
    "size": "On disk",
    "bar": "",
    "pct": "%",
    "files": "Files",
    "trend": "Trend",
}


class UsagePanel(FollowsChanges, Vertical):
    """Shows a UsageReport; scans on request only."""

    FOLLOWS = frozenset({LOCATION, USAGE})

    BINDINGS = [
        Binding("s", "scan", "Scan"),
        Binding("u", "quick", "Rescan"),
        Binding("c", "cancel_scan", "Cancel scan"),
        Binding("o", "sort", "Sort"),
        Binding("e", "export", "Export"),
        Binding("backspace", "up", "Up"),
        Binding("escape", "up", "Up", show=False),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="usage-panel")
        self.sources = sources
        self.service: UsageService = sources.usage.service()
        self.report: UsageReport | None = None
        self.location: ServerLocation | None = None
        self.scanning = False
        self.level: Level = None
        self.sort = SORTS[0]
        self.listing: FileListing | None = None
        self.rows: list[Row] = []
        self._cancel: threading.Event | None = None
        self._reload_after_scan = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the last scan on record…", id="usage-verdict")
        yield Static(id="usage-scan")
        yield ProgressBar(id="usage-progress", show_eta=False)
        yield Static(id="usage-volumes")
        yield Static(id="usage-where")
        yield DataTable(id="usage-table", cursor_type="row", zebra_stripes=False)
        with Horizontal(id="usage-bottom"):
            yield Static(id="usage-detail")
            yield Sparkline([], id="usage-trend")
        yield Static(id="usage-findings")

    def on_mount(self) -> None:
        table = self.query_one("#usage-table", DataTable)
        for key, label in COLUMNS.items():
            table.add_column(self._label(key, label), key=key)
        self.query_one("#usage-progress", ProgressBar).display = False
        self.query_one("#usage-trend", Sparkline).display = False
        self.refresh_report()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.service.close()  # stops the worker processes

    # ------------------------------------------------------------------ actions

    def refresh_report(self) -> None:
        """Show the last scan on record again, re-judged now (never scans)."""
        if not self.scanning:
            self._load()

    def follow(self, change: Change) -> None:
        if self.scanning and LOCATION in change.areas:
            # A scan of where the repository was: its figures would be about a path the
            # location no longer names. Stopped, then the new location's record is read.
            self._reload_after_scan = True
            self.action_cancel_scan()
            return
        self.refresh_report()

    def action_scan(self) -> None:
        self._start(quick=False)

    def action_quick(self) -> None:
        self._start(quick=True)

    def action_export(self) -> None:
        """A full scan that also writes ncdu's JSON export into the state dir."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.sources.usage.now()))
        self._start(quick=False, export=self.service.state_dir / "exports" / f"ncdu-{stamp}.json")

    def action_cancel_scan(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.query_one("#usage-scan", Static).update("Cancelling the scan…")

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._fill()

    def action_up(self) -> None:
        if self.level is None or self.report is None:
            return
        came_from = self.level
        root, rel = self.level
        is_row = any((u.root, u.rel) == self.level for u in self.report.scan.units)
        self.level = None if is_row or not rel else (root, rel.rpartition("/")[0])
        self._open(came_from)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("scan", "quick", "export"):
            return not self.scanning and self.location is not None
        if action == "cancel_scan":
            return self.scanning
        return True

    def _start(self, quick: bool, export: Path | None = None) -> None:
        if self.scanning or self.location is None:
            return
        self.scanning = True
        self._cancel = threading.Event()
        bar_widget = self.query_one("#usage-progress", ProgressBar)
        bar_widget.update(total=None, progress=0)
        bar_widget.display = True
        what = "quick rescan" if quick else "full scan"
        if export is not None:
            what += f" with an ncdu export to {export}"
        self.query_one("#usage-scan", Static).update(f"Starting a {what}…")
        self.refresh_bindings()
        self._scan(self.location, quick, self._cancel, export)

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="usage-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            location = self.sources.locate()
            report = self.service.last_report(location)
        except UsageError as err:
            self.post_message(UsageFailed(str(err), refused=True))
            return
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(UsageFailed(f"{type(err).__name__}: {err}"))
            return
        self.post_message(UsageLoaded(report, location))

    @work(thread=True, exclusive=True, group="usage-scan", exit_on_error=False)
    def _scan(
        self,
        location: ServerLocation,
        quick: bool,
        cancel: threading.Event,
        export: Path | None = None,
    ) -> None:
        try:
            if export is not None:
                export.parent.mkdir(parents=True, exist_ok=True)
            report = self.service.scan(
                location,
                quick=quick,
                export=export,
                progress=lambda p: self.post_message(UsageScanProgress(p)),
                cancel=cancel,
            )
        except ScanCancelled:
            self.post_message(UsageScanCancelled())
            return
        except UsageError as err:  # a refusal in words (no data dir, say)
            self.post_message(UsageFailed(f"Cannot scan: {err}"))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(UsageFailed(f"scan: {type(err).__name__}: {err}"))
            return
        if export is not None:
            self.post_message(UsageExported(str(export)))
        self.post_message(UsageLoaded(report, location, scanned=True))

    @work(thread=True, exclusive=True, group="usage-files", exit_on_error=False)
    def _list_files(self, level: Level, path: str) -> None:
        try:
            listing = self.service.files(path, 100)
        except Exception as err:  # noqa: BLE001
            listing = FileListing(path, (), error=str(err))
        self.post_message(UsageFilesListed(level, listing))

    # ------------------------------------------------------------------ handlers

    @on(UsageExported)
    def _exported(self, message: UsageExported) -> None:
        self.notify(f"ncdu export written: {message.path} (open it with ncdu -f)")

    @on(UsageLoaded)
    def _loaded(self, message: UsageLoaded) -> None:
        self._scan_finished()
        self.location = message.location
        self.refresh_bindings()
        self.mark_fresh()
        if message.scanned:
            self.post_message(changed(USAGE, why="a scan finished", origin=self))
        if message.report is None:
            self.forget()
            self.query_one("#usage-verdict", Static).update(
                Text("No scan on record for this repository yet", style="bold")
            )
            self.query_one("#usage-scan", Static).update(
                f"{message.location.data_dir.value}: press s to scan it"
            )
            return
        self.show(message.report)

    def forget(self) -> None:
        """No scan of this location: nothing of another one's stays on screen."""
        self.report, self.level, self.listing, self.rows = None, None, None, []
        self.query_one("#usage-table", DataTable).clear()
        for part in ("#usage-volumes", "#usage-where", "#usage-detail", "#usage-findings"):
            self.query_one(part, Static).update("")
        self.query_one("#usage-trend", Sparkline).display = False

    @on(UsageFailed)
    def _failed(self, message: UsageFailed) -> None:
        self._scan_finished()
        if message.refused:
            self.query_one("#usage-verdict", Static).update(
                severity_text(Severity.UNKNOWN).append(f"  {message.error}")
            )
            self.query_one("#usage-scan", Static).update("")
            return
        self.query_one("#usage-scan", Static).update(Text(f"✗ {message.error}", style="bold red"))

    @on(UsageScanCancelled)
    def _cancelled(self) -> None:
        self._scan_finished()
        text = Text("Scan cancelled: ", style="yellow")
        text.append("the figures below are the last complete scan's." if self.report else "")
        self.query_one("#usage-scan", Static).update(text)

    @on(UsageScanProgress)
    def _progress(self, message: UsageScanProgress) -> None:
        if not self.scanning:
            return
        progress = message.progress
        bar_widget = self.query_one("#usage-progress", ProgressBar)
        if progress.fraction is not None:
            bar_widget.update(total=1000, progress=int(progress.fraction * 1000))
        self.query_one("#usage-scan", Static).update(progress_line(progress))

    @on(UsageFilesListed)
    def _files_listed(self, message: UsageFilesListed) -> None:
        if message.level == self.level:
            self.listing = message.listing
            self._fill()

    @on(DataTable.RowSelected, "#usage-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        row = self._row(event.cursor_row)
        if row is not None and row.target is not None:
            self.level = row.target
            self._open(None)

    @on(DataTable.RowHighlighted, "#usage-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _scan_finished(self) -> None:
        if self.scanning:
            self.scanning = False
            self._cancel = None
            self.query_one("#usage-progress", ProgressBar).display = False
            self.refresh_bindings()
        if self._reload_after_scan:
            self._reload_after_scan = False
            self._load()

    # ------------------------------------------------------------------ showing

    def show(self, report: UsageReport) -> None:
        self.report = report
        if self.level is not None and not report.scan.tree.has(*self.level):
            self.level = None  # the directory shown is gone from the new scan
        self.query_one("#usage-verdict", Static).update(verdict_line(report))
        self.query_one("#usage-scan", Static).update(scan_line(report, self.service.now()))
        self.query_one("#usage-volumes", Static).update(volumes_text(report))
        self.query_one("#usage-findings", Static).update(findings_text(report))
        self._open(None, keep_listing=True)

    def _open(self, select: Level, keep_listing: bool = False) -> None:
        """Show ``self.level``; put the cursor on the row of ``select`` if it is there."""
        if self.report is None:
            return
        if not keep_listing or (self.listing and self.listing.path != self._path()):
            self.listing = None
        self._fill(select)
        if self.level is not None and self.listing is None:
            self._list_files(self.level, self._path())

    def _path(self) -> str:
        assert self.report is not None
        return level_path(self.report, self.level)

    def _fill(self, select: Level = None) -> None:
        if self.report is None:
            return
        report, table = self.report, self.query_one("#usage-table", DataTable)
        cursor = table.cursor_row
        self.rows = sort_rows(rows_for(report, self.level, self.listing), self.sort)
        parent = max(1, level_totals(report, self.level).allocated_bytes)
        table.clear()
        for row in self.rows:
            fraction = row.allocated / parent
            name = row.name if len(row.name) <= NAME_WIDTH else row.name[: NAME_WIDTH - 1] + "…"
            style = "dim" if row.kind in ("files", "more") else ("bold" if row.target else "")
            size = Text(("≈ " if row.reused else "") + human_bytes(row.allocated), justify="right")
            table.add_row(
                Text(name, style=style),
                size,
                Text(bar(fraction), style="cyan"),
                Text(f"{fraction:.0%}", justify="right"),
                Text("" if row.files is None else human_count(row.files), justify="right"),
                Text(row.trend or "", style="green"),
                key=row.key,
            )
        for key, label in COLUMNS.items():
            table.columns[key].label = Text(self._label(key, label))
        table.refresh()
        target = next((i for i, r in enumerate(self.rows) if r.target == select), None)
        table.move_cursor(row=target if target is not None else min(cursor, len(self.rows) - 1))
        self._show_where()
        self._show_detail(table.cursor_row)

    def _label(self, key: str, label: str) -> str:
        """A column's header, with an arrow on the one the rows are sorted by."""
        if key != self.sort:
            return label
        return f"{label} ▲" if key == "name" else f"{label} ▼"

    def _show_where(self) -> None:
        assert self.report is not None
        totals = level_totals(self.report, self.level)
        text = Text(self._path(), style="bold")
        text.append(f"  {human_bytes(totals.allocated_bytes)}", style="cyan")
        hint = "  Enter: open" if self.level is None else "  Backspace: up"
        text.append(hint, style="dim")
        self.query_one("#usage-where", Static).update(text)

    def _row(self, index: int) -> Row | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def _show_detail(self, index: int) -> None:
        if self.report is None:
            return
        row = self._row(index)
        self.query_one("#usage-detail", Static).update(detail_text(self.report, self.level, row))
        trend = self.query_one("#usage-trend", Sparkline)
        values, tooltip = trend_series(self.report, row)
        trend.display = len(values) > 1
        trend.data = values
        trend.tooltip = tooltip
