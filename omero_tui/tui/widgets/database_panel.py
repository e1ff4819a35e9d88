"""Database panel: OMERO's own records against the files on disk, read-only.

The check runs in a thread worker with a progress bar and can be cancelled (``c``);
``h`` runs it again verifying content checksums. Enter on an area or a user row shows
that area's or that user's files (missing first, then orphans) in the list below.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from omero_tui.core.database.model import DbProgress, DbReport, FileIssue
from omero_tui.core.usage.format import human_bytes
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.presentation import finding_text, severity_text

AREA_COLUMNS = (
    "Area",
    "Rows",
    "Files on disk",
    "Missing",
    "Size differs",
    "Orphans",
    "Orphan bytes",
)
USER_COLUMNS = ("User", "Group", "Files", "Recorded", "Missing")
ISSUE_COLUMNS = ("What", "Owner", "Size", "Path")
ISSUE_WORDS = {
    "missing": ("missing", "bold red"),
    "size_differs": ("size differs", "bold red"),
    "hash_differs": ("content differs", "bold red"),
    "orphan": ("orphan", "yellow"),
}


class DbReady(Message):
    def __init__(self, report: DbReport) -> None:
        super().__init__()
        self.report = report


class DbFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class DbProgressed(Message):
    def __init__(self, progress: DbProgress) -> None:
        super().__init__()
        self.progress = progress


class DatabasePanel(VerticalScroll):
    BINDINGS = [
        Binding("h", "verify_hash", "Verify checksums"),
        Binding("c", "cancel", "Cancel"),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="database-panel")
        self.sources = sources
        self.report: DbReport | None = None
        self.error: str | None = None
        self.checking = False
        self.selection: tuple[str, str] | None = None  # ("area"|"user", key)
        self._cancel: threading.Event | None = None

    def compose(self) -> ComposeResult:
        yield Static("Reading OMERO's database…", id="database-status")
        yield ProgressBar(id="database-progress", show_eta=False)
        yield Static(id="database-progress-label")
        yield Static(id="database-findings", classes="section")
        yield DataTable(id="database-areas", cursor_type="row", zebra_stripes=False)
        yield DataTable(id="database-users", cursor_type="row", zebra_stripes=False)
        yield Static(id="database-issues-title", classes="section")
        yield DataTable(id="database-issues", cursor_type="row", zebra_stripes=False)
        yield Static(id="database-repos", classes="section")

    def on_mount(self) -> None:
        self._show_progress(False)
        self.refresh_report()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # ------------------------------------------------------------------ actions

    def refresh_report(self, verify_hash: bool = False) -> None:
        if self.checking:
            return
        self.checking = True
        self._cancel = threading.Event()
        self._show_progress(True)
        self.query_one("#database-progress", ProgressBar).update(total=None, progress=0)
        words = "Checking every row against the files" + (
            " and their checksums…" if verify_hash else "…"
        )
        self.query_one("#database-progress-label", Static).update(words)
        self.refresh_bindings()
        self._check(verify_hash, self._cancel)

    def action_verify_hash(self) -> None:
        self.refresh_report(verify_hash=True)

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.query_one("#database-progress-label", Static).update("Cancelling…")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.checking
        if action == "verify_hash":
            return not self.checking
        return True

    # ------------------------------------------------------------------ worker

    @work(thread=True, exclusive=True, group="database")
    def _check(self, verify_hash: bool, cancel: threading.Event) -> None:
        from omero_tui.core.database.check import DatabaseUnavailable, DbCancelled

        try:
            location = self.sources.locate()
            report = self.sources.check_database(
                location,
                verify_hash=verify_hash,
                progress=lambda p: self.post_message(DbProgressed(p)),
                cancel=cancel,
            )
        except DbCancelled:
            self.post_message(DbFailed("cancelled; press r to check again"))
            return
        except DatabaseUnavailable as err:
            self.post_message(DbFailed(str(err)))
            return
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(DbFailed(f"{type(err).__name__}: {err}"))
            return
        self.post_message(DbReady(report))

    # ------------------------------------------------------------------ handlers

    @on(DbProgressed)
    def _progressed(self, message: DbProgressed) -> None:
        p = message.progress
        bar = self.query_one("#database-progress", ProgressBar)
        if p.hash_total_bytes:
            bar.update(total=max(1, p.hash_total_bytes), progress=p.hashed_bytes)
        elif p.rows_total:
            bar.update(total=max(1, p.rows_total), progress=min(p.rows, p.rows_total))
        words = f"{p.phase}: {p.rows:,} of {p.rows_total:,} rows, {p.entries:,} entries on disk"
        if p.hash_total_bytes:
            eta = f", about {p.eta_seconds:,.0f} s left" if p.eta_seconds is not None else ""
            words += f"; checksums {human_bytes(p.hashed_bytes)} of "
            words += f"{human_bytes(p.hash_total_bytes)}{eta}"
        self.query_one("#database-progress-label", Static).update(words)

    @on(DbFailed)
    def _failed(self, message: DbFailed) -> None:
        self._finished()
        self.error = message.error
        self.query_one("#database-status", Static).update(
            Text(f"? Not checked: {message.error}", style="bold magenta")
        )

    @on(DbReady)
    def _ready(self, message: DbReady) -> None:
        self._finished()
        self.error = None
        self.show(message.report)

    def _finished(self) -> None:
        self.checking = False
        self._cancel = None
        self._show_progress(False)
        self.refresh_bindings()

    def _show_progress(self, visible: bool) -> None:
        self.query_one("#database-progress", ProgressBar).display = visible
        self.query_one("#database-progress-label", Static).display = visible

    @on(DataTable.RowSelected, "#database-areas")
    def _area_chosen(self, event: DataTable.RowSelected) -> None:
        self.selection = ("area", str(event.row_key.value))
        self._fill_issues()

    @on(DataTable.RowSelected, "#database-users")
    def _user_chosen(self, event: DataTable.RowSelected) -> None:
        self.selection = ("user", str(event.row_key.value))
        self._fill_issues()

    # ------------------------------------------------------------------ rendering

    def show(self, report: DbReport) -> None:
        self.report = report
        self.query_one("#database-status", Static).update(status_line(report))
        self.query_one("#database-repos", Static).update(repositories_text(report))
        _fill(self.query_one("#database-areas", DataTable), AREA_COLUMNS, area_rows(report))
        _fill(self.query_one("#database-users", DataTable), USER_COLUMNS, user_rows(report))
        self._fill_issues()
        findings = Text("\n").join(finding_text(f) for f in report.findings) or Text(
            "✓ Every file the database knows is present with its size.", style="green"
        )
        self.query_one("#database-findings", Static).update(findings)

    def _fill_issues(self) -> None:
        if self.report is None:
            return
        issues, title = chosen_issues(self.report, self.selection)
        self.query_one("#database-issues-title", Static).update(Text(title, style="bold"))
        rows = [issue_row(i) for i in issues]
        _fill(self.query_one("#database-issues", DataTable), ISSUE_COLUMNS, rows)


def _fill(table: DataTable, columns: tuple[str, ...], rows: list[tuple[str, list[Text]]]) -> None:
    cursor = table.cursor_row
    table.clear(columns=True)
    for index, label in enumerate(columns):
        width = max([len(label), *(cells[index].cell_len for _, cells in rows)])
        table.add_column(label, width=width, key=label)
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if table.row_count:
        table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))


def status_line(report: DbReport) -> Text:
    conn = report.connection
    text = severity_text(report.verdict)
    text.append(
        f"  {conn['user'] or 'default user'}@{conn['name'] or 'default database'}"
        f" (PostgreSQL {report.server_version}, read-only)"
    )
    return text


def repositories_text(report: DbReport) -> Text:
    text = Text("Repositories the database records\n", style="bold")
    for repo in report.repositories:
        text.append(f"  {repo.role:<18} {repo.root}")
        if repo.matches is True:
            text.append("  = configured", style="green")
        elif repo.matches is False:
            text.append(f"  ≠ configured {repo.configured}", style="yellow")
        text.append("\n")
    return text


def area_rows(report: DbReport) -> list[tuple[str, list[Text]]]:
    out = []
    for a in report.areas:
        missing = Text(f"{a.missing.count:,}", style="bold red" if a.missing.count else "")
        orphans = Text(f"{a.orphans.count:,}", style="yellow" if a.orphans.count else "")
        cells = [
            Text(a.area if a.checked else f"{a.area} (not compared)"),
            Text(f"{a.db_rows:,}"),
            Text(f"{a.disk_files:,}"),
            missing,
            Text(f"{a.size_differs.count:,}", style="bold red" if a.size_differs.count else ""),
            orphans,
            Text(human_bytes(a.orphans.bytes)),
        ]
        out.append((a.area, cells))
    return out


def user_rows(report: DbReport) -> list[tuple[str, list[Text]]]:
    missing = {(t.owner, t.group): t.missing.count for t in report.by_owner}
    out = []
    for u in report.usage:
        lost = missing.get((u.owner, u.group), 0)
        cells = [
            Text(u.owner),
            Text(u.group),
            Text(f"{u.files:,}"),
            Text(human_bytes(u.bytes)),
            Text(f"{lost:,}", style="bold red" if lost else ""),
        ]
        out.append((f"{u.owner}\t{u.group}", cells))
    return out


def chosen_issues(
    report: DbReport, selection: tuple[str, str] | None
) -> tuple[list[FileIssue], str]:
    issues = [*report.missing, *report.size_differs, *report.hash_differs, *report.orphans]
    if selection is None:
        return issues, "Missing, changed and orphan files (Enter on an area or a user to narrow)"
    kind, key = selection
    if kind == "area":
        return [i for i in issues if i.area == key], f"Files of {key}"
    owner, _, group = key.partition("\t")
    chosen = [i for i in issues if i.owner == owner and i.group == group]
    return chosen, f"Files of {owner} in {group} (orphans have no owner)"


def issue_row(issue: FileIssue) -> tuple[str, list[Text]]:
    words, style = ISSUE_WORDS.get(issue.kind, (issue.kind, ""))
    size = issue.expected_size if issue.expected_size is not None else issue.disk_size
    cells = [
        Text(words, style=style),
        Text(f"{issue.owner}/{issue.group}" if issue.owner else "-"),
        Text(human_bytes(size) if size is not None else "-"),
        Text(f"{issue.area}/{issue.path}"),
    ]
    return f"{issue.kind}:{issue.area}/{issue.path}", cells
