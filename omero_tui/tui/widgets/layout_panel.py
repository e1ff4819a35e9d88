"""Layout panel: what is where, what is missing, what is misplaced."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from omero_tui.core.discovery import Determined
from omero_tui.core.findings import Severity, worst
from omero_tui.core.layout.config_sources import source_line
from omero_tui.core.layout.inspection import EntryInfo, LayoutReport, RepoIdentity
from omero_tui.tui.changes import LOCATION, LOCKS, FollowsChanges
from omero_tui.tui.messages import LayoutFailed, LayoutReady
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.presentation import (
    finding_text,
    severity_text,
    state_text,
    wrap_words,
)

# Panel padding, the vertical scrollbar, and one cell of padding each side of 4 columns.
CHROME_WIDTH = 2 + 2 + 4 * 2
ROOT_NAMES = ("data dir", "managed dir")


class LayoutPanel(FollowsChanges, VerticalScroll):
    """Shows a LayoutReport; the report is computed in a thread worker."""

    FOLLOWS = frozenset({LOCATION, LOCKS})  # where things are; the identity's .lock files

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="layout-panel")
        self.sources = sources
        self.report: LayoutReport | None = None

    def compose(self) -> ComposeResult:
        yield Static("Reading the repository layout…", id="layout-status")
        yield Static(id="layout-where", classes="section")
        sources = Static(id="layout-sources", classes="section")
        sources.display = False  # shown once a report lists a source
        yield sources
        yield DataTable(id="layout-entries", cursor_type="row", zebra_stripes=False)
        yield Static(id="layout-detail", classes="section")
        yield Static(id="layout-findings", classes="section")

    def on_mount(self) -> None:
        table = self.query_one("#layout-entries", DataTable)
        table.add_columns("Directory", "State", "Filesystem", "Holds")
        self.refresh_report()

    def refresh_report(self) -> None:
        self.query_one("#layout-status", Static).update("Reading the repository layout…")
        self._inspect()

    @work(thread=True, exclusive=True, group="layout")
    def _inspect(self) -> None:
        # Discovery and inspection only stat a handful of paths, but a hung network
        # mount would still freeze the UI if this ran on the event loop.
        try:
            location = self.sources.locate()
            report = self.sources.inspect_layout(location)
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(LayoutFailed(f"{type(err).__name__}: {err}"))
            return
        self.post_message(LayoutReady(report))

    @on(LayoutFailed)
    def _failed(self, message: LayoutFailed) -> None:
        self.query_one("#layout-status", Static).update(
            Text(f"✗ Could not read the layout: {message.error}", style="bold red")
        )

    @on(LayoutReady)
    def _ready(self, message: LayoutReady) -> None:
        self.show(message.report)

    def show(self, report: LayoutReport) -> None:
        self.report = report
        self.mark_fresh()
        self.query_one("#layout-status", Static).update(status_line(report))
        self.query_one("#layout-where", Static).update(where_table(report))
        sources = self.query_one("#layout-sources", Static)
        sources.display = bool(report.config_sources)
        sources.update(sources_text(report))
        self._fill_entries(report)
        self.query_one("#layout-findings", Static).update(findings_text(report))

    def _fill_entries(self, report: LayoutReport) -> None:
        table = self.query_one("#layout-entries", DataTable)
        cursor = table.cursor_row
        table.clear()
        rows = [
            (
                entry.name if entry.name in ROOT_NAMES else f"  {entry.name}",
                state_text(entry.state),
                device_text(entry, report.data_dir),
                entry.holds,
            )
            for entry in self.entries()
        ]
        # Filesystem and Holds share what the first two leave, so no row needs a
        # horizontal scroll; both wrap between words, never cutting a path or a word.
        used = sum(max(len(str(row[i])) for row in rows) for i in range(2))
        room = max(24, self.size.width - CHROME_WIDTH - used)
        device_width = min(max(len(str(row[2])) for row in rows), max(10, room * 2 // 5))
        holds_width = room - device_width
        for index, (label, state, device, holds) in enumerate(rows):
            device_lines = wrap_words(device.plain, device_width)
            holds_lines = wrap_words(holds, holds_width)
            table.add_row(
                label,
                state,
                Text("\n".join(device_lines), style=device.style),
                "\n".join(holds_lines),
                key=str(index),
                height=max(len(device_lines), len(holds_lines)),
            )
        table.move_cursor(row=min(cursor, table.row_count - 1))
        self._show_detail(table.cursor_row)

    def on_resize(self) -> None:
        if self.report is not None:
            self._fill_entries(self.report)

    def entries(self) -> list[EntryInfo]:
        if self.report is None:
            return []
        rows = [self.report.data_dir, *self.report.subdirs]
        if self.report.managed_outside:
            rows.append(self.report.managed_dir)
        return rows

    @on(DataTable.RowHighlighted, "#layout-entries")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, row: int) -> None:
        entries = self.entries()
        if not 0 <= row < len(entries):
            return
        entry = entries[row]
        text = Text()
        text.append(entry.path, style="bold")
        text.append(f"  {entry.state}")
        if entry.target:
            text.append(f" → {entry.target}")
        text.append(f"\n{entry.holds}")
        self.query_one("#layout-detail", Static).update(text)


def status_line(report: LayoutReport) -> Text:
    """The verdict and the one finding that matters most, readable at 80 columns."""
    alarms = sorted(
        (f for f in report.findings if f.severity.rank > Severity.INFO.rank),
        key=lambda f: -f.severity.rank,
    )
    text = Text("Layout  ")
    text.append_text(severity_text(worst(report.findings)))
    if not alarms:
        text.append("  no problems found", style="green")
        return text
    text.append(f"  {alarms[0].message}")
    if len(alarms) > 1:
        text.append(f" (+{len(alarms) - 1} more below)", style="dim")
    return text


def device_text(entry: EntryInfo, data_dir: EntryInfo) -> Text:
    # Repeating the data dir's filesystem on every row hides the one row that differs.
    if entry is not data_dir and entry.device and entry.device == data_dir.device:
        return Text("same", style="dim")
    return Text(entry.device or "-")


def where_table(report: LayoutReport) -> Table:
    """Where everything is and why, then the identity the server knows the repository by."""
    location = report.location
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rows: list[tuple[str, Determined]] = [
        ("Server dir", location.server_dir),
        ("Profile", location.profile),
        ("Data dir", location.data_dir),
        ("Managed dir", location.managed_dir),
    ]
    for label, determined in rows:
        value = Text(determined.value or "—")
        value.append(f"  ({determined.how})", style="dim")
        table.add_row(label, value)
    if location.config_error:
        table.add_row("Config", Text(f"✗ {location.config_error}", style="red"))
    for index, identity in enumerate(report.identities):
        table.add_row("Identity" if index == 0 else "", identity_text(identity))
    return table


def sources_text(report: LayoutReport) -> Text:
    """What sets a repository path at every start, winning over config.xml."""
    text = Text("Config sources", style="bold")
    text.append("  applied at every start; they win over config.xml", style="dim")
    for source in report.config_sources:
        text.append("\n")
        text.append(source_line(source), style="yellow" if source.is_template else "")
    return text


def identity_text(identity: RepoIdentity) -> Text:
    """One line per repository: its repo_uuid, its database, and whether a .lock exists."""
    # "data"/"managed" rather than the full role: a line must fit 80 columns.
    text = Text(f"{identity.role.split()[0]}: ")
    if not identity.entries:
        text.append("no .omero/repository identity found", style="yellow")
    for index, entry in enumerate(identity.entries):
        if index:
            text.append("; ")
        text.append(entry.repo_uuid or f"unreadable ({entry.error})")
        text.append(f" db {entry.db_uuid[:8]}", style="dim")
        if entry.lock_files:
            text.append(" .lock", style="cyan")
    return text


def findings_text(report: LayoutReport) -> Text:
    alarms = [f for f in report.findings if f.severity.rank > Severity.INFO.rank]
    text = Text()
    if not alarms:
        text.append("✓ No problems found in the layout.", style="green")
    shown = sorted(report.findings, key=lambda f: -f.severity.rank)
    for finding in shown:
        if text:
            text.append("\n")
        text.append_text(finding_text(finding))
    return text
