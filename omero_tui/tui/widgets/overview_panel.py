"""Overview: one line per area with its verdict and the finding that matters most.

The last report on record is shown the moment the panel opens, with its age; a
refresh with the cheap form of every check then runs in a thread worker.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from omero_tui.core.health.model import AreaHealth, HealthCancelled, HealthProgress, HealthReport
from omero_tui.core.usage.format import human_age
from omero_tui.tui.changes import EVERYTHING, FollowsChanges
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.presentation import finding_text, severity_text, wrap_words

# Panel padding, the scrollbar and the cell padding of three columns.
CHROME_WIDTH = 2 + 2 + 3 * 2
TITLE_WIDTH, VERDICT_WIDTH = 12, 10


class HealthLoaded(Message):
    def __init__(self, report: HealthReport, cached: bool, token: int = 0) -> None:
        super().__init__()
        self.report, self.cached, self.token = report, cached, token


class HealthFailed(Message):
    def __init__(self, error: str, token: int = 0) -> None:
        super().__init__()
        self.error, self.token = error, token


class HealthActivity(Message):
    def __init__(self, progress: HealthProgress) -> None:
        super().__init__()
        self.progress = progress


class OverviewPanel(FollowsChanges, VerticalScroll):
    """The console's home. Enter on a row asks the app to open that area's panel."""

    FOLLOWS = EVERYTHING  # one line per area: any change is news here
    BINDINGS = [Binding("enter", "open", "Open panel")]

    class Open(Message):
        """The admin wants the panel of ``area``."""

        def __init__(self, area: str) -> None:
            super().__init__()
            self.area = area

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="overview-panel")
        self.sources = sources
        self.report: HealthReport | None = None
        self.cached = False
        self.refreshing = False
        self._cancel = threading.Event()
        # Each check carries a number: one started before the last change (a check of
        # the old location, say) is not shown when it ends after the newer one.
        self._token = 0

    def compose(self) -> ComposeResult:
        yield Static("Looking for the last health check on record…", id="overview-status")
        yield DataTable(id="overview-areas", cursor_type="row", zebra_stripes=False)
        yield Static(id="overview-detail", classes="section")
        yield Static("Enter opens an area's panel · r re-checks · ? help", id="overview-hint")

    def on_mount(self) -> None:
        table = self.query_one("#overview-areas", DataTable)
        table.add_columns("Area", "Verdict", "What matters most")
        self.refresh_report(cached_first=True)
        self.set_interval(30, self._show_status)  # keeps "checked N min ago" true

    def on_unmount(self) -> None:
        self._cancel.set()

    def refresh_report(self, *, cached_first: bool = False) -> None:
        self.refreshing = True
        self._show_status()
        # The user picked on the Permissions panel, so both judge the same user.
        self._token += 1
        self._check(cached_first and self.perms_user is None, self.perms_user, self._token)

    @property
    def perms_user(self) -> str | None:
        return getattr(self.app, "perms_user", None)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def _check(self, cached_first: bool, perms_user: str | None, token: int) -> None:
        try:
            location = self.sources.locate()
            if cached_first:
                cached = self.sources.health.cached(location)
                if cached is not None:
                    self.post_message(HealthLoaded(cached, cached=True, token=token))
            report = self.sources.health.check(
                location,
                progress=lambda p: self.post_message(HealthActivity(p)),
                cancel=self._cancel,
                perms_user=perms_user,
            )
        except HealthCancelled:
            return
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(HealthFailed(f"{type(err).__name__}: {err}", token))
            return
        self.post_message(HealthLoaded(report, cached=False, token=token))

    @on(HealthLoaded)
    def _loaded(self, message: HealthLoaded) -> None:
        if message.token != self._token:
            return
        if not message.cached:
            self.refreshing = False
        elif self.report is not None and not self.cached:
            return  # a fresh answer already arrived
        self.report, self.cached = message.report, message.cached
        if not message.cached:
            self.mark_fresh()
        self._fill()
        self._show_status()

    @on(HealthFailed)
    def _failed(self, message: HealthFailed) -> None:
        if message.token != self._token:
            return
        self.refreshing = False
        self.query_one("#overview-status", Static).update(
            Text(f"✗ Could not check: {message.error}", style="bold red")
        )

    @on(HealthActivity)
    def _activity(self, message: HealthActivity) -> None:
        if self.report is None:
            progress = message.progress
            self.query_one("#overview-status", Static).update(
                f"Checking {progress.area or 'done'} ({progress.done}/{progress.total})…"
            )

    def _show_status(self) -> None:
        report = self.report
        if report is None:
            if self.refreshing:
                self.query_one("#overview-status", Static).update("Checking the repository…")
            return
        text = Text("Health  ")
        text.append_text(severity_text(report.severity))
        age = human_age(self.sources.health.now() - report.checked_at)
        text.append(f"  checked {age}", style="dim")
        if self.cached:
            text.append(" (last check on record)", style="dim")
        if self.refreshing:
            text.append("  · re-checking…", style="cyan")
        self.query_one("#overview-status", Static).update(text)

    def _fill(self) -> None:
        table = self.query_one("#overview-areas", DataTable)
        cursor = table.cursor_row
        table.clear()
        width = max(16, self.size.width - CHROME_WIDTH - TITLE_WIDTH - VERDICT_WIDTH)
        for area in self.areas():
            # Wrapped, never cut: the one thing that matters most is read whole.
            lines = wrap_words(area.headline, width)
            table.add_row(
                area.title,
                severity_text(area.severity),
                "\n".join(lines),
                key=area.area,
                height=len(lines),
            )
        table.move_cursor(row=max(0, min(cursor, table.row_count - 1)))
        self._show_detail(table.cursor_row)

    def on_resize(self) -> None:
        if self.report is not None:
            self._fill()

    def areas(self) -> tuple[AreaHealth, ...]:
        return self.report.areas if self.report is not None else ()

    @on(DataTable.RowHighlighted, "#overview-areas")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    @on(DataTable.RowSelected, "#overview-areas")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        areas = self.areas()
        row = self.query_one("#overview-areas", DataTable).cursor_row
        if 0 <= row < len(areas):
            self.post_message(self.Open(areas[row].area))

    def _show_detail(self, row: int) -> None:
        areas = self.areas()
        if not 0 <= row < len(areas):
            return
        area = areas[row]
        text = Text(area.title, style="bold")
        if area.note:
            text.append(f"  ({area.note})", style="dim")
        text.append(f"\n{area.headline}")
        shown = sorted(area.findings, key=lambda f: -f.severity.rank)
        for finding in shown:
            if area.headline.startswith(finding.message):
                continue
            text.append("\n")
            text.append_text(finding_text(finding))
        self.query_one("#overview-detail", Static).update(text)
