"""Step 7: config.xml rewritten under OMERO's lock; the change shown property by property."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.core.relocation.config_diff import describe_diff
from omero_tui.tui.wizard.run_text import event_log
from omero_tui.tui.wizard.state import WizardState


class ConfigPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-config", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="config-status", classes="page-heading")
        yield Static(id="config-diff", classes="section")
        yield Static(id="config-log", classes="section")

    def show(self, state: WizardState) -> None:
        step = state.step_state("config")
        status = self.query_one("#config-status", Static)
        path = state.plan.config_path if state.plan else None
        if step == "done":
            status.update(Text(f"✓ {path or 'config.xml'} now points at the new place", "green"))
        elif step == "failed":
            status.update(Text("✗ The configuration was not changed", "bold red"))
        elif step == "started":
            status.update(Text("Rewriting config.xml under OMERO's lock…", "cyan"))
        else:
            status.update(Text("Waiting for the verified copy", "dim"))
        diff = Text()
        if state.config_before is not None and state.config_after is not None:
            diff.append("config.xml, before → after:\n", style="bold")
            for line in describe_diff(state.config_before, state.config_after):
                style = "red" if line.lstrip().startswith("-") else ""
                style = "green" if line.lstrip().startswith("+") else style
                diff.append(line + "\n", style=style)
        self.query_one("#config-diff", Static).update(diff)
        self.query_one("#config-log", Static).update(event_log(state.events_of("config")))
