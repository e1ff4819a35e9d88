"""Step 7: config.xml rewritten under OMERO's lock; the change shown property by property."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from omero_tui.core.relocation.config_diff import describe_diff
from omero_tui.tui.wizard.state import WizardState
from omero_tui.tui.wizard.step_page import StepLogPage


class ConfigPage(StepLogPage):
    STEP = "config"
    STATUS = {
        None: ("Waiting for the verified copy", "dim"),
        "started": ("Rewriting config.xml under OMERO's lock…", "cyan"),
        "done": ("✓ {config} now points at the new place", "green"),
        "failed": ("✗ The configuration was not changed", "bold red"),
    }

    def compose(self) -> ComposeResult:
        yield Static(id="config-status", classes="page-heading")
        yield Static(id="config-diff", classes="section")
        yield Static(id="config-log", classes="section")

    def status_words(self, state: WizardState, words: str) -> str:
        path = state.plan.config_path if state.plan else None
        return words.format(config=path or "config.xml")

    def show(self, state: WizardState) -> None:
        super().show(state)
        self.query_one("#config-diff", Static).update(config_diff_text(state))


def config_diff_text(state: WizardState) -> Text:
    """config.xml before and after, property by property; empty until both are read."""
    diff = Text()
    if state.config_before is not None and state.config_after is not None:
        diff.append("config.xml, before → after:\n", style="bold")
        for line in describe_diff(state.config_before, state.config_after):
            style = "red" if line.lstrip().startswith("-") else ""
            style = "green" if line.lstrip().startswith("+") else style
            diff.append(line + "\n", style=style)
    return diff
