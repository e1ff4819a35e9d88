"""Help for the panel (or wizard) the admin is looking at; Esc, q or ? closes it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown

from omero_tui.tui.help_text import help_for
from omero_tui.tui.widgets.fitting_footer import FittingFooter


class HelpScreen(Screen[None]):
    """A whole screen, not a modal: nothing half-hidden behind it on a small terminal."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(help_for(self.where), id="help-text")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()

    def action_close(self) -> None:
        self.dismiss(None)
