"""Step 3: every step of the plan, the configuration change, what moves along."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.core.config.windows_paths import looks_like_windows_path, posix_shell_line
from omero_tui.core.usage.format import human_bytes
from omero_tui.tui.wizard.state import WizardState
from omero_tui.tui.wizard.step_choose import windows_notations


class PlanPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-plan", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="plan-summary", classes="section")
        yield Static(id="plan-steps", classes="section")
        yield Static(id="plan-config", classes="section")

    def show(self, state: WizardState) -> None:
        prepared = state.prepared
        if prepared is None:
            return
        plan, scan = prepared.plan, prepared.scan
        summary = Table.grid(padding=(0, 1))
        summary.add_column(style="bold", no_wrap=True)
        summary.add_column(overflow="fold")
        source = plan.source
        if plan.source_real != plan.source:
            source += f" (really {plan.source_real})"
        summary.add_row("Move", source)
        summary.add_row("To", plan.target)
        summary.add_row(
            "Size", f"{scan.copied_entries():,} entries, {human_bytes(scan.data_bytes)}"
        )
        summary.add_row("How", f"{plan.method}: {plan.method_why}")
        summary.add_row("Server", plan.controller or "-")
        for note in plan.notes:
            summary.add_row("Note", note)
        self.query_one("#plan-summary", Static).update(summary)

        steps = Table.grid(padding=(0, 1))
        steps.add_column(justify="right", style="dim", no_wrap=True)
        steps.add_column(overflow="fold")
        steps.add_row("", Text("Steps", style="bold"))
        for number, step in enumerate(plan.steps, start=1):
            steps.add_row(f"{number}.", step.title)
        self.query_one("#plan-steps", Static).update(steps)

        config = Text(f"config.xml ({plan.config_path or 'none'})\n", style="bold")
        if not plan.config_changes:
            config.append("  no change to the configuration\n", style="dim")
        for change in plan.config_changes:
            config.append(f"  {change.key}: ")
            config.append(f"{change.old if change.old is not None else '(not set)'}", style="red")
            config.append(" → ")
            config.append(f"{change.new}\n", style="green")
        if plan.config_changes:
            config.append("The same by hand, with the server stopped:\n", style="dim")
            for change in plan.config_changes:
                config.append(f"  {posix_shell_line(change.key, change.path)}\n", style="dim")
        if looks_like_windows_path(plan.target):
            config.append_text(windows_notations(plan.target, plan.config_changes[0].key))
        config.append("\nNothing has changed yet. Press n to confirm.", style="dim")
        self.query_one("#plan-config", Static).update(config)
