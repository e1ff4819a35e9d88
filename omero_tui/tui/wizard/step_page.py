"""A run page that shows one engine step: a status line per state, then the step's log."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.tui.wizard.run_text import event_log
from omero_tui.tui.wizard.state import WizardState


class StepLogPage(VerticalScroll):
    STEP = ""
    # the step's last state ("started", "done", ...; None before it starts) -> (words, style)
    STATUS: dict[str | None, tuple[str, str]] = {}
    NOTE = ""  # what the admin should know about this step, under its log

    def __init__(self) -> None:
        super().__init__(id=f"page-{self.STEP}", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.STEP}-status", classes="page-heading")
        yield Static(id=f"{self.STEP}-log", classes="section")

    def status_words(self, state: WizardState, words: str) -> str:
        """The status line; a page may fill in what only the state knows."""
        return words

    def show(self, state: WizardState) -> None:
        words, style = self.STATUS.get(state.step_state(self.STEP), self.STATUS[None])
        words = self.status_words(state, words)
        self.query_one(f"#{self.STEP}-status", Static).update(Text(words, style))
        log = event_log(state.events_of(self.STEP))
        if self.NOTE:
            log.append(f"\n\n{self.NOTE}", style="dim")
        self.query_one(f"#{self.STEP}-log", Static).update(log)
