"""Step 2: every check with pass, warn or fail and its reason; nothing has changed yet."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static

from omero_tui.core.relocation.progress import Progress
from omero_tui.core.usage.format import human_bytes
from omero_tui.tui.wizard.state import WizardState

MARKS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "bold red")}


class PreflightPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-preflight", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="preflight-status", classes="page-heading")
        yield ProgressBar(id="preflight-progress", show_eta=False, total=None)
        yield Static(id="preflight-checks", classes="section")

    def show_running(self, progress: Progress | None) -> None:
        self.query_one("#preflight-progress", ProgressBar).display = True
        line = "Checking: scanning the source, probing the target…"
        if progress is not None:
            line = f"Checking: {progress.message}"
        self.query_one("#preflight-status", Static).update(line)
        self.query_one("#preflight-checks", Static).update("")

    def show(self, state: WizardState) -> None:
        self.query_one("#preflight-progress", ProgressBar).display = False
        status = self.query_one("#preflight-status", Static)
        checks = self.query_one("#preflight-checks", Static)
        if state.prepare_error:
            status.update(Text(f"✗ Refused: {state.prepare_error}", style="bold red"))
            checks.update(Text("Press b to go back and choose another target.", style="dim"))
            return
        prepared = state.prepared
        if prepared is None:
            return
        report = prepared.preflight
        failures, warnings = len(report.failures), len(report.warnings)
        scan = prepared.scan
        size = f"{scan.copied_entries():,} entries, {human_bytes(scan.data_bytes)}"
        if failures:
            status.update(
                Text(f"✗ {failures} check(s) failed: nothing can move ({size})", style="bold red")
            )
        elif warnings:
            status.update(
                Text(f"! Passed with {warnings} warning(s) ({size}); read them", style="yellow")
            )
        else:
            status.update(Text(f"✓ Every check passed ({size})", style="bold green"))
        body = Text()
        order = {"fail": 0, "warn": 1, "pass": 2}
        for check in sorted(report.checks, key=lambda c: order[c.status]):
            mark, style = MARKS[check.status]
            if body:
                body.append("\n")
            body.append(f"{mark} ", style=style)
            body.append(check.reason, style="" if check.status == "pass" else style)
        if failures:
            body.append("\n\nPress b to go back and choose another target.", style="dim")
        else:
            body.append("\n\nPress n to see the plan.", style="dim")
        checks.update(body)
