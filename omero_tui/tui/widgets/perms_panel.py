"""Permissions panel: can the server's user read, write and enter everything, and the fix.

All work runs in thread workers that only post messages; the handlers here own the
state. Every run carries a token so a result that arrives after a newer run started
(a user picked mid-check) is dropped rather than shown for the wrong user.
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

from omero_tui.core.findings import counted
from omero_tui.core.perms.apply import ApplyRefused
from omero_tui.core.perms.check import PermsReport
from omero_tui.core.perms.findings import SHORT
from omero_tui.core.perms.fix import FixPlan
from omero_tui.core.perms.server_user import UnknownUserError
from omero_tui.core.perms.undo import UndoError
from omero_tui.tui.changes import LOCATION, PERMS, SERVER, Change, FollowsChanges, changed
from omero_tui.tui.copy_commands import copy_commands
from omero_tui.tui.screens.perms_confirm import PermsConfirm
from omero_tui.tui.screens.perms_user_picker import AUTOMATIC, PermsUserPicker
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.perms_text import (
    applied_summary,
    deep_text,
    detail_text,
    findings_text,
    fit_end,
    fit_middle,
    plan_text,
    status_line,
    ticks,
    undo_summary,
    user_text,
)

# Panel padding, the vertical scrollbar, one cell of padding each side of 8 columns.
CHROME_WIDTH = 2 + 2 + 8 * 2


class PermsReady(Message):
    def __init__(self, token: int, report: PermsReport, plan: FixPlan) -> None:
        super().__init__()
        self.token, self.report, self.plan = token, report, plan


class PermsFailed(Message):
    def __init__(self, token: int, error: str) -> None:
        super().__init__()
        self.token, self.error = token, error


class PermsActivity(Message):
    """A progress line from a running deep check, fix or undo (at most ten a second)."""

    def __init__(self, token: int, text: str) -> None:
        super().__init__()
        self.token, self.text = token, text


class PermsChanged(Message):
    """A fix or an undo finished; ``summary`` says what it did."""

    def __init__(self, token: int, summary: str, ok: bool) -> None:
        super().__init__()
        self.token, self.summary, self.ok = token, summary, ok


class PermsPanel(FollowsChanges, VerticalScroll):
    # The server's processes name the user it runs as.
    FOLLOWS = frozenset({LOCATION, PERMS, SERVER})
    BINDINGS = [
        Binding("u", "pick_user", "User…"),
        Binding("d", "deep", "Deep check"),
        Binding("D", "deep_here", "Deep here"),
        Binding("f", "fix", "Fix…"),
        Binding("z", "undo", "Undo fix…"),
        Binding("y", "copy_commands", "Copy fix"),
        Binding("c", "cancel", "Cancel", show=False),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="perms-panel")
        self.sources = sources
        self.report: PermsReport | None = None
        self.plan: FixPlan | None = None
        self.chosen_user: str | None = None  # None: the server's own user, worked out
        self.busy: str | None = None  # "check" | "deep" | "fix" | "undo"
        self._token = 0
        self._cancel: threading.Event | None = None

    def compose(self) -> ComposeResult:
        yield Static("Checking permissions for the server user…", id="perms-status")
        yield Static(id="perms-user", classes="section")
        yield DataTable(id="perms-rows", cursor_type="row", zebra_stripes=False)
        yield Static(id="perms-detail", classes="section")
        yield Static(id="perms-activity", classes="section")
        yield Static(id="perms-deep", classes="section")
        yield Static(id="perms-plan", classes="section")
        yield Static(id="perms-findings", classes="section")

    def on_mount(self) -> None:
        # A user picked before this panel was built (the app keeps it for every panel).
        self.chosen_user = getattr(self.app, "perms_user", self.chosen_user)
        self.refresh_report()

    def follow(self, change: Change) -> None:
        self.chosen_user = getattr(self.app, "perms_user", self.chosen_user)
        if self.busy in ("fix", "undo"):
            return  # it re-checks when it is done
        self.refresh_report()

    # ------------------------------------------------------------------ actions

    def refresh_report(self, *, deep: bool = False, walk: list[str] | None = None) -> None:
        if self.busy in ("fix", "undo"):
            self.notify("A permission change is running; it re-checks when it is done.")
            return
        self._start("deep" if deep else "check")
        where = walk[0] if walk else "the repository"
        self._activity(f"Deep check: walking {where}…" if deep else "Checking permissions…")
        self._check(self._token, self.chosen_user, deep, walk, self._cancel)

    def action_deep(self) -> None:
        if self.busy == "deep":
            self.action_cancel()
            return
        self.refresh_report(deep=True)

    def action_deep_here(self) -> None:
        """Walk only the highlighted directory: quicker on a big repository."""
        if self.busy == "deep":
            self.action_cancel()
            return
        table = self.query_one("#perms-rows", DataTable)
        rows = self.report.rows if self.report else ()
        if not 0 <= table.cursor_row < len(rows) or rows[table.cursor_row].kind != "repository":
            self.notify("Highlight a directory of the repository first.")
            return
        self.refresh_report(deep=True, walk=[rows[table.cursor_row].path])

    def action_cancel(self) -> None:
        if self._cancel is not None and self.busy in ("deep", "fix", "undo"):
            self._cancel.set()
            self._activity("Cancelling…")

    def action_pick_user(self) -> None:
        current = self.report.user.name if self.report else "?"
        how = self.report.user.how if self.report else "not worked out yet"
        candidates = self.sources.perms.candidates(self.report)
        self.app.push_screen(PermsUserPicker(candidates, current, how), self._user_picked)

    def _user_picked(self, name: str | None) -> None:
        if name is None:
            return
        self.chosen_user = None if name == AUTOMATIC else name
        self.refresh_report()
        why = f"permissions judged for {name}"
        self.post_message(changed(PERMS, why=why, origin=self, perms_user=self.chosen_user))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_commands":  # shown only while there is a command to copy
            return self.plan is not None and bool(self.plan.steps)
        return True

    def action_copy_commands(self) -> None:
        """The fix plan's commands, for an admin who applies them by hand (or elsewhere)."""
        if self.plan is None or not self.plan.steps:
            self.notify("No fix commands to copy: the fix plan is empty.")
            return
        copy_commands(self, [step.command for step in self.plan.steps])

    def action_fix(self) -> None:
        if self.report is None or self.plan is None or self.busy:
            self.notify("Wait for the check to finish first.")
            return
        if not self.plan.steps:
            self.notify("Nothing to fix: the server user has what it needs.")
            return
        lines = [f"# {step.why}\n{step.command}" for step in self.plan.steps]
        lines += [f"# by hand: {note}" for note in self.plan.manual]
        lines.append("# Every previous owner, mode and ACL is recorded first; z undoes it.")
        count = len(self.plan.steps)
        title = f"Apply {count} change{'s' if count > 1 else ''} for {self.plan.user}?"
        blocked = self.plan.cannot_apply
        self.app.push_screen(PermsConfirm(title, lines, blocked=blocked), self._fix_confirmed)

    def _fix_confirmed(self, yes: bool | None) -> None:
        if yes and self.plan is not None and self.report is not None:
            self._start("fix")
            self._activity("Fixing…")
            self._apply(self._token, self.plan, self.report, self._cancel)

    def action_undo(self) -> None:
        if self.busy:
            self.notify("Wait for the running job to finish first.")
            return
        if not self.sources.perms.has_undo():
            self.notify("There is no permission fix to undo.")
            return
        lines = ["Put back every owner, group, mode and ACL the last fix changed."]
        self.app.push_screen(
            PermsConfirm("Undo the last permission fix?", lines, action="Undo"),
            self._undo_confirmed,
        )

    def _undo_confirmed(self, yes: bool | None) -> None:
        if yes:
            self._start("undo")
            self._activity("Undoing…")
            self._undo(self._token, self._cancel)

    def _start(self, what: str) -> None:
        if self._cancel is not None:
            self._cancel.set()  # a superseded run stops early; its results are dropped
        self._token += 1
        self._cancel = threading.Event()
        self.busy = what

    # ------------------------------------------------------------------ workers

    @work(thread=True, group="perms")
    def _check(
        self,
        token: int,
        user: str | None,
        deep: bool,
        walk: list[str] | None,
        cancel: threading.Event | None,
    ) -> None:
        def progress(p) -> None:  # noqa: ANN001
            found = f"{counted(p.scanned, 'entry')}, {counted(p.problems, 'problem')}"
            text = f"Deep check: {found}  {p.current}"
            self.post_message(PermsActivity(token, text))

        try:
            location = self.sources.locate()
            report = self.sources.perms.check(
                location, user=user, deep=deep, walk=walk, progress=progress, cancel=cancel
            )
            plan = self.sources.perms.plan(report)
        except UnknownUserError as err:
            self.post_message(PermsFailed(token, str(err)))
            return
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(PermsFailed(token, f"{type(err).__name__}: {err}"))
            return
        self.post_message(PermsReady(token, report, plan))

    @work(thread=True, group="perms")
    def _apply(
        self, token: int, plan: FixPlan, report: PermsReport, cancel: threading.Event | None
    ) -> None:
        def progress(p) -> None:  # noqa: ANN001
            text = f"Fixing step {p.step}/{p.steps}: {p.changed} changed  {p.current}"
            self.post_message(PermsActivity(token, text))

        try:
            result = self.sources.perms.apply(plan, report, progress=progress, cancel=cancel)
        except (ApplyRefused, OSError) as err:
            self.post_message(PermsChanged(token, f"Not applied: {err}", False))
            return
        self.post_message(PermsChanged(token, applied_summary(result), not result.failed_total))

    @work(thread=True, group="perms")
    def _undo(self, token: int, cancel: threading.Event | None) -> None:
        def progress(p) -> None:  # noqa: ANN001
            self.post_message(PermsActivity(token, f"Undoing: {p.done}/{p.total}  {p.current}"))

        try:
            result = self.sources.perms.undo(progress=progress, cancel=cancel)
        except (UndoError, OSError) as err:
            self.post_message(PermsChanged(token, f"Not undone: {err}", False))
            return
        self.post_message(PermsChanged(token, undo_summary(result), not result.failed_total))

    # ------------------------------------------------------------------ handlers

    @on(PermsActivity)
    def _on_activity(self, message: PermsActivity) -> None:
        if message.token == self._token:
            self._activity(message.text)

    @on(PermsFailed)
    def _on_failed(self, message: PermsFailed) -> None:
        if message.token != self._token:
            return
        self.busy = None
        self._activity("")
        self.query_one("#perms-status", Static).update(
            Text(f"✗ Could not check permissions: {message.error}", style="bold red")
        )

    @on(PermsReady)
    def _on_ready(self, message: PermsReady) -> None:
        if message.token != self._token:
            return
        self.busy = None
        self._activity("")
        self.show(message.report, message.plan)

    @on(PermsChanged)
    def _on_changed(self, message: PermsChanged) -> None:
        if message.token != self._token:
            return
        self.busy = None
        self.notify(message.summary, severity="information" if message.ok else "error")
        self.refresh_report()  # the re-check shows what the change did
        self.post_message(changed(PERMS, why=message.summary, origin=self))
        self._activity(message.summary)

    def _activity(self, text: str) -> None:
        self.query_one("#perms-activity", Static).update(Text(text, style="cyan"))

    # ------------------------------------------------------------------ display

    def show(self, report: PermsReport, plan: FixPlan) -> None:
        self.report, self.plan = report, plan
        self.mark_fresh()
        self.refresh_bindings()  # `y` shows only while the plan has commands
        self.query_one("#perms-status", Static).update(status_line(report))
        self.query_one("#perms-user", Static).update(user_text(report, self.chosen_user))
        self._fill_rows()
        self.query_one("#perms-deep", Static).update(deep_text(report))
        self.query_one("#perms-plan", Static).update(plan_text(plan, report))
        self.query_one("#perms-findings", Static).update(findings_text(report))

    def _fill_rows(self) -> None:
        if self.report is None:
            return
        table = self.query_one("#perms-rows", DataTable)
        cursor = table.cursor_row
        rows = self.report.rows
        owner_w = max([5, *(len(r.owner) for r in rows)])
        group_w = max([5, *(len(r.group) for r in rows)])
        fixed = owner_w + group_w + 11 + 3
        room = max(24, self.size.width - CHROME_WIDTH - fixed)
        said = [", ".join(dict.fromkeys(SHORT.get(c, c) for c in r.problems)) for r in rows]
        # Findings keep only the room they need (their header when there are none), so a
        # path is not shortened while blank columns remain beside it. No rows at all
        # when nothing local is judged (a Windows-era data dir).
        findings_need = min(14, max([8, *(len(f) for f in said)]))
        label_w = min(max([9, *(len(r.label) for r in rows)]), max(14, room - findings_need))
        findings_w = max(8, room - label_w)
        findings = [fit_end(f, findings_w) for f in said]
        # Widths given, not measured: an auto-width DataTable measures new rows only when
        # it is next idle, so a frame drawn before that showed the previous report's
        # widths (the Findings column cut to "cannot w" in a snapshot under load).
        table.clear(columns=True)
        widths = (
            ("Directory", label_w),
            ("Owner", owner_w),
            ("Group", group_w),
            ("Mode", 10),
            ("R", 1),
            ("W", 1),
            ("X", 1),
            ("Findings", max([8, *(len(f) for f in findings)])),
        )
        for label, width in widths:
            table.add_column(label, width=width)
        for index, (row, problems) in enumerate(zip(rows, findings, strict=True)):
            table.add_row(
                fit_middle(row.label, label_w),
                row.owner,
                row.group,
                row.mode,
                *ticks(row),
                problems,
                key=str(index),
            )
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
            self._show_detail(table.cursor_row)

    def on_resize(self) -> None:
        self._fill_rows()

    @on(DataTable.RowHighlighted, "#perms-rows")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        if self.report is None or not 0 <= index < len(self.report.rows):
            return
        self.query_one("#perms-detail", Static).update(
            detail_text(self.report.rows[index], self.report)
        )
