"""Lock health panel: can locking be trusted in each repository directory?

The report is read in a thread worker; the active probe runs in another, posting
throttled progress, and can be cancelled (``c``) at any time. Stale lock files can be
removed (``x``, twice to confirm) only while the server is verified stopped; the
removal checks that again, and each file once more, right before it acts.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from omero_tui.core.findings import Severity, counted, worst
from omero_tui.core.locks.files import StaleRemoval, removable
from omero_tui.core.locks.health import DirectoryLocks, LockHealthReport, StopCheck
from omero_tui.core.locks.probe import (
    HANDOFF,
    HOLDER_TAKES,
    KINDS,
    REFUSED_EX,
    REFUSED_SH,
    SHARED,
    KindProbe,
    ProbeProgress,
)
from omero_tui.tui.changes import (
    LOCATION,
    LOCKS,
    SERVER,
    STALE,
    Change,
    FollowsChanges,
    changed,
)
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.presentation import SEVERITY_MARK, finding_text, severity_text

# Latencies in ms, said once in the header, so a probed table fits 80 columns; where
# even that is too wide (long verdicts) the header drops the unit (the detail has it).
PLAIN_COLUMNS = ("Directory", "Filesystem", "Verdict", *KINDS, "write")
COLUMNS = (*PLAIN_COLUMNS[:3], *(f"{k} ms" for k in PLAIN_COLUMNS[3:]))
# Panel padding, the vertical scrollbar, one cell of padding each side of 6 columns.
CHROME_WIDTH = 2 + 2 + 6 * 2
STEP_WORDS = {
    HOLDER_TAKES: "lock",
    REFUSED_EX: "excl. refused",
    REFUSED_SH: "shared refused",
    HANDOFF: "hand-over",
    SHARED: "shared together",
}


class LocksReady(Message):
    def __init__(
        self, report: LockHealthReport, stop: StopCheck | None, *, from_probe: bool = False
    ) -> None:
        super().__init__()
        self.report = report
        self.stop = stop  # looked at only when there are stale files to remove
        self.from_probe = from_probe  # only the probe's own answer ends a running probe


class LocksRemoved(Message):
    def __init__(self, removal: StaleRemoval) -> None:
        super().__init__()
        self.removal = removal


class LocksFailed(Message):
    def __init__(self, error: str, *, from_probe: bool = False) -> None:
        super().__init__()
        self.error = error
        self.from_probe = from_probe


class LocksProbeProgress(Message):
    def __init__(self, progress: ProbeProgress) -> None:
        super().__init__()
        self.progress = progress


class LocksPanel(FollowsChanges, VerticalScroll):
    """Shows a LockHealthReport; `p` runs the active probe, `c` cancels it."""

    # The server's start or stop changes who holds the lock files, and whether the
    # stale ones may be removed.
    FOLLOWS = frozenset({LOCATION, LOCKS, SERVER})

    BINDINGS = [
        Binding("p", "probe", "Probe locks"),
        Binding("c", "cancel_probe", "Cancel probe"),
        Binding("x", "remove_stale", "Remove stale locks"),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__(id="locks-panel")
        self.sources = sources
        self.report: LockHealthReport | None = None
        self.probing = False
        self.removing = False
        self.stop: StopCheck | None = None
        self._confirming = False
        self._cancel: threading.Event | None = None
        self._reread_after_probe = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the lock health…", id="locks-status")
        yield ProgressBar(id="locks-progress", show_eta=False)
        yield Static(id="locks-progress-label", classes="section")
        yield DataTable(id="locks-dirs", cursor_type="row", zebra_stripes=False)
        yield Static(id="locks-detail", classes="section")
        yield Static(id="locks-files", classes="section")
        yield Static(id="locks-removal", classes="section")
        yield Static(id="locks-logs", classes="section")
        yield Static(id="locks-findings", classes="section")

    def on_mount(self) -> None:
        self._show_progress(False)
        self.refresh_report()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # the probe then stops its children and removes its files

    # ------------------------------------------------------------------ actions

    def refresh_report(self) -> None:
        if self.probing or self.removing:
            return  # a fresh report would be overwritten by the probe's result anyway
        self.query_one("#locks-status", Static).update("Reading the lock health…")
        self._inspect()

    def follow(self, change: Change) -> None:
        if self.probing or self.removing:
            # What they finish with describes the world before the change: read again then.
            self._reread_after_probe = True
            if self.probing and LOCATION in change.areas:
                self.action_cancel_probe()
            return
        self.refresh_report()

    def action_probe(self) -> None:
        if self.probing or self.report is None:
            return
        self.probing = True
        self._cancel = threading.Event()
        self._show_progress(True)
        bar = self.query_one("#locks-progress", ProgressBar)
        bar.update(total=max(1, sum(1 for d in self.report.directories if d.present)), progress=0)
        self.query_one("#locks-progress-label", Static).update("Starting the lock probe…")
        self.refresh_bindings()
        self._probe(self.report, self._cancel)

    def action_cancel_probe(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.query_one("#locks-progress-label", Static).update("Cancelling the probe…")

    def action_remove_stale(self) -> None:
        if not self._may_remove() or self.report is None:
            return
        count = len(removable(self.report.lock_files.files))
        if not self._confirming:
            self._confirming = True
            self.query_one("#locks-removal", Static).update(
                Text(
                    f"Press x again to remove {counted(count, 'stale lock file')}"
                    " (the server is verified stopped; it is checked again first).",
                    style="bold yellow",
                )
            )
            return
        self._confirming = False
        self.removing = True
        self.refresh_bindings()
        self.query_one("#locks-removal", Static).update("Removing stale lock files…")
        self._remove(self.report)

    def on_key(self, event: events.Key) -> None:
        # x is shown only when it can act; pressed anyway, it says why it cannot.
        if event.key == "x" and not self._may_remove() and not (self.probing or self.removing):
            event.stop()
            self.query_one("#locks-removal", Static).update(
                Text(self._why_nothing_to_remove(), style="yellow")
            )

    def _why_nothing_to_remove(self) -> str:
        if self.report is None:
            return "Nothing removed: the lock files have not been looked at yet."
        if not removable(self.report.lock_files.files):
            return StaleRemoval((), ()).summary()
        if self.stop is None:
            return "Nothing removed: whether the server is stopped is still being checked."
        return f"Nothing removed: the server is not verified stopped: {self.stop.reason}."

    def _may_remove(self) -> bool:
        return (
            not self.probing
            and not self.removing
            and self.stop is not None
            and self.stop.stopped
            and self.report is not None
            and bool(removable(self.report.lock_files.files))
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "probe":
            return not self.probing
        if action == "cancel_probe":
            return self.probing
        if action == "remove_stale":
            return self._may_remove()
        return True

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="locks")
    def _inspect(self) -> None:
        try:
            location = self.sources.locate()
            report = self.sources.locks.inspect(location)
            # Proving the server stopped costs a status call: only when it would matter.
            stop = (
                self.sources.locks.stopped(location) if removable(report.lock_files.files) else None
            )
        except Exception as err:  # noqa: BLE001 - any failure is shown, never a crash
            self.post_message(LocksFailed(f"{type(err).__name__}: {err}"))
            return
        self.post_message(LocksReady(report, stop))

    @work(thread=True, exclusive=True, group="locks-probe")
    def _probe(self, report: LockHealthReport, cancel: threading.Event) -> None:
        try:
            probed = self.sources.locks.probe(
                report, lambda p: self.post_message(LocksProbeProgress(p)), cancel
            )
        except Exception as err:  # noqa: BLE001
            self.post_message(
                LocksFailed(f"lock probe: {type(err).__name__}: {err}", from_probe=True)
            )
            return
        self.post_message(LocksReady(probed, self.stop, from_probe=True))

    @work(thread=True, exclusive=True, group="locks-remove")
    def _remove(self, report: LockHealthReport) -> None:
        try:
            removal = self.sources.locks.remove_stale(report)
        except Exception as err:  # noqa: BLE001
            removal = StaleRemoval((), (), f"{type(err).__name__}: {err}")
        self.post_message(LocksRemoved(removal))

    # ------------------------------------------------------------------ handlers

    @on(LocksFailed)
    def _failed(self, message: LocksFailed) -> None:
        if message.from_probe or not self.probing:
            self._probe_finished()
        self.query_one("#locks-status", Static).update(
            Text(f"✗ Could not check the locks: {message.error}", style="bold red")
        )

    @on(LocksProbeProgress)
    def _progress(self, message: LocksProbeProgress) -> None:
        progress = message.progress
        self.query_one("#locks-progress", ProgressBar).update(
            total=max(1, progress.total), progress=progress.done
        )
        where = progress.path or "finishing"
        self.query_one("#locks-progress-label", Static).update(
            f"Probing {min(progress.done + 1, progress.total)}/{progress.total}: "
            f"{where} ({progress.step})"
        )

    @on(LocksReady)
    def _ready(self, message: LocksReady) -> None:
        if self.probing and not message.from_probe:
            # A report read before p was pressed: showing it would end the probe's
            # progress while the probe still runs; the probe's own report follows.
            return
        self._probe_finished()
        self.stop = message.stop
        self._confirming = False
        self.show(message.report)
        self.refresh_bindings()
        if self._reread_after_probe:
            self._reread_after_probe = False
            self.add_class(STALE)
            self.refresh_report()
        else:
            self.mark_fresh()

    @on(LocksRemoved)
    def _removed(self, message: LocksRemoved) -> None:
        self.removing = False
        self.query_one("#locks-removal", Static).update(removal_text(message.removal))
        self._reread_after_probe = False  # the re-read below sees the change too
        self.refresh_report()
        if message.removal.removed:
            self.post_message(changed(LOCKS, why="stale lock files removed", origin=self))

    def _probe_finished(self) -> None:
        if self.probing:
            self.probing = False
            self._cancel = None
            self._show_progress(False)
            self.refresh_bindings()

    def _show_progress(self, visible: bool) -> None:
        self.query_one("#locks-progress", ProgressBar).display = visible
        self.query_one("#locks-progress-label", Static).display = visible

    # ------------------------------------------------------------------ showing

    def show(self, report: LockHealthReport) -> None:
        self.report = report
        self.query_one("#locks-status", Static).update(status_line(report))
        self._fill_rows(report)
        self.query_one("#locks-files", Static).update(lock_files_text(report, self.stop))
        self.query_one("#locks-logs", Static).update(logs_text(report))
        self.query_one("#locks-findings", Static).update(findings_text(report))

    def _fill_rows(self, report: LockHealthReport) -> None:
        table = self.query_one("#locks-dirs", DataTable)
        cursor = table.cursor_row
        rows = [
            (
                Text(row.name if row.name == "data dir" else f"  {row.name}"),
                Text(row.fs.label if row.mount is not None else "-"),
                verdict_cell(row),
                *(kind_cell(row, k) for k in KINDS),
                write_cell(row),
            )
            for row in report.directories
        ]
        # Widths are set here rather than measured by the table when it next idles, so
        # the table never shows a cut-off latency before it gets round to measuring.
        table.clear(columns=True)
        labels = COLUMNS
        widths = column_widths(labels, rows)
        # Before its first layout the panel has no size yet: the screen's width then.
        width = self.size.width or self.app.size.width
        if sum(widths) > width - CHROME_WIDTH:
            labels = PLAIN_COLUMNS  # the unit goes before a figure would be cut
            widths = column_widths(labels, rows)
        for label, width in zip(labels, widths, strict=True):
            table.add_column(label, width=width, key=label)
        for index, cells in enumerate(rows):
            table.add_row(*cells, key=str(index))
        table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
        self._show_detail(table.cursor_row)

    def on_resize(self) -> None:
        if self.report is not None:
            self._fill_rows(self.report)

    @on(DataTable.RowHighlighted, "#locks-dirs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        if self.report is None or not 0 <= index < len(self.report.directories):
            return
        self.query_one("#locks-detail", Static).update(detail_text(self.report.directories[index]))


# ---------------------------------------------------------------------- renderables


def column_widths(labels: tuple[str, ...], rows: list[tuple[Text, ...]]) -> list[int]:
    return [
        max([len(label), *(cells[index].cell_len for cells in rows)])
        for index, label in enumerate(labels)
    ]


def status_line(report: LockHealthReport) -> Text:
    alarms = sorted(
        (f for f in report.findings if f.severity.rank > Severity.INFO.rank),
        key=lambda f: -f.severity.rank,
    )
    text = Text("Locks  ")
    text.append_text(severity_text(worst(report.findings)))
    if not alarms:
        probe = "probed" if report.probed else "press p to probe"
        text.append(f"  no problems found ({probe})", style="green")
        return text
    text.append(f"  {alarms[0].message}")
    if len(alarms) > 1:
        text.append(f" (+{len(alarms) - 1} more below)", style="dim")
    return text


def verdict_cell(row: DirectoryLocks) -> Text:
    mark, style = SEVERITY_MARK[row.verdict]
    return Text(f"{mark} {row.verdict_text}", style=style)


def kind_cell(row: DirectoryLocks, kind: str) -> Text:
    if row.probe is None:
        return Text("-", style="dim")
    result = row.probe.kind(kind)
    if result is None:
        style = "dim" if row.probe_verdict == "cancelled" else "bold red"
        return Text(row.probe_verdict, style=style)
    if result.passed:
        return Text(f"✓ {ms_figure(result.handoff_ms)}", style="green")
    failure = result.failure
    return Text(f"✗ {failure.errno or 'FAIL'}" if failure else "✗ FAIL", style="bold red")


def write_cell(row: DirectoryLocks) -> Text:
    if row.probe is None or row.probe.write is None:
        return Text("-", style="dim")
    write = row.probe.write
    if write.passed:
        return Text(f"✓ {ms_figure(write.ms)}", style="green")
    return Text(f"✗ {write.errno or 'FAIL'}", style="bold red")


def ms_figure(ms: float | None) -> str:
    return "" if ms is None else f"{ms:.3g}"


def ms_text(ms: float | None) -> str:
    return "" if ms is None else f"{ms_figure(ms)} ms"


def detail_text(row: DirectoryLocks) -> Text:
    text = Text()
    text.append(row.path, style="bold")
    if row.mount is not None:
        mount = row.mount
        text.append(f"\n{mount.source} on {mount.mount_point} ({mount.fstype})  ")
        text.append(",".join(mount.all_options), style="dim")
    elif not row.present:
        text.append("\nnot present")
    for state in row.declared:
        now = "mounted" if state.mounted else ("automount" if state.trigger else "NOT MOUNTED")
        text.append(f"\ndeclared in {state.declared.declared_in}: {state.mount_point} ({now})")
    probe = row.probe
    if probe is None:
        text.append("\nprobe not run (press p)", style="dim")
        return text
    for kind in probe.kinds:
        text.append("\n")
        text.append_text(kind_steps_text(kind))
    if probe.write is not None:
        mark, style = SEVERITY_MARK[Severity.OK if probe.write.passed else Severity.CRITICAL]
        text.append(f"\nwrite  {mark} {probe.write.detail}", style=style)
    if probe.flock_emulated is not None:
        emulated = "yes (NFS-like)" if probe.flock_emulated else "no (as on a local disk)"
        text.append(f"\nflock blocks fcntl: {emulated}")
    if probe.error:
        text.append(f"\n{probe.error}", style="bold red" if not probe.cancelled else "dim")
    if probe.cancelled:
        text.append("\nprobe cancelled", style="dim")
    return text


def kind_steps_text(kind: KindProbe) -> Text:
    text = Text(f"{kind.kind:<6} ")
    for index, step in enumerate(kind.steps):
        if index:
            text.append(" · ", style="dim")
        mark, style = SEVERITY_MARK[Severity.OK if step.passed else Severity.CRITICAL]
        text.append(f"{mark} {STEP_WORDS.get(step.name, step.name)}", style=style)
        if step.passed and step.ms is not None and step.name in (HOLDER_TAKES, HANDOFF):
            text.append(f" {ms_text(step.ms)}", style="dim")
    failure = kind.failure
    if failure is not None:
        text.append(f"\n       {failure.name}: {failure.detail}", style="bold red")
    return text


def lock_files_text(report: LockHealthReport, stop: StopCheck | None = None) -> Text:
    files = report.lock_files.files
    text = Text("Lock files", style="bold")
    method = report.lock_files.method
    # "not looked for: a Windows path" is said as it is, not as where holders came from.
    text.append(
        f"  ({method if method.startswith('not ') else 'holders from ' + method})", style="dim"
    )
    if not files:
        text.append("\nnone found")
    for state in files:
        style = {"held": "cyan", "open": "cyan", "stale": "yellow"}.get(state.state, "magenta")
        text.append(f"\n{state.state:<6}", style=style)
        text.append(f" {state.path}")
        for holder in state.holders:
            name = f" {holder.process}" if holder.process else ""
            text.append(f"\n       pid {holder.pid}{name}, {holder.how}", style="dim")
    stale = removable(files)
    if stale and stop is not None:
        if stop.stopped:
            text.append(f"\n{len(stale)} stale: press x to remove them", style="yellow")
            text.append(f" (server verified stopped: {stop.reason})", style="dim")
        else:
            text.append(
                f"\n{len(stale)} stale: removal is offered only while the server is verified "
                f"stopped, and {stop.reason}",
                style="dim",
            )
    return text


def removal_text(removal: StaleRemoval) -> Text:
    if removal.refused:
        return Text(f"✗ {removal.summary()}", style="bold red")
    text = Text(f"✓ {removal.summary()}", style="green")
    for path in removal.removed:
        text.append(f"\n    {path}", style="dim")
    for path, why in removal.kept:
        text.append(f"\nkept {path}: {why}", style="yellow")
    return text


def logs_text(report: LockHealthReport) -> Text:
    logs = report.logs
    text = Text("Server logs", style="bold")
    if logs.error:
        text.append(f"\nnot scanned: {logs.error}", style="dim")
        return text
    text.append(f"  (last {logs.tail_bytes // 1024} KiB of each)", style="dim")
    for log in logs.logs:
        text.append(f"\n{log.name}: ")
        if log.error:
            text.append(f"unreadable ({log.error})", style="yellow")
        elif not log.hits:
            text.append("no symptoms", style="green")
        else:
            text.append(", ".join(f"{h.label} ×{h.count}" for h in log.hits), style="yellow")
            text.append(f"  last {log.last_time or '?'}", style="dim")
            text.append(f"\n    {log.last_line}", style="dim")
    return text


def findings_text(report: LockHealthReport) -> Text:
    text = Text()
    if not any(f.severity.rank > Severity.INFO.rank for f in report.findings):
        text.append("✓ No lock problems found.", style="green")
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        if text:
            text.append("\n")
        text.append_text(finding_text(finding))
    return text
