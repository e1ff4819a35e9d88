"""The first screen when there is no server to look after: one plain line, and the way out.

Shown instead of panels that would each cry "CRITICAL: the data dir /OMERO does not
exist" about a default path nobody configured. Every panel key explains the same line.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from omero_tui.core.discovery import ServerLocation, no_server_reason
from omero_tui.tui.widgets.fitting_footer import FittingFooter

# The keys that would act on a server's repository: each says why it cannot.
PANEL_KEYS = ("w", "s", "u", "e", "p", "x", "d", "f", "z", "1", "2", "3", "4", "5", "enter")


def first_line(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + "."


class NoServerScreen(Screen[None]):
    """Dismissed (and the panels shown) once ``r`` finds a server."""

    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("r", "look_again", "Look again"),
        Binding("w", "explain", "Relocate…"),
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", show=False),
        *(Binding(key, "explain", show=False) for key in PANEL_KEYS if key != "w"),
    ]

    def __init__(self, reason: str, locate: Callable[[], ServerLocation], title: str) -> None:
        super().__init__()
        self.reason = reason
        self.locate = locate
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="title-bar")
        with Vertical(id="no-server-box"):
            yield Static(self._text(), id="no-server-line")
        yield FittingFooter()

    def _text(self) -> Text:
        text = Text("✗ ", style="bold red")
        text.append(first_line(self.reason))
        return text

    def action_help(self) -> None:
        from omero_tui.tui.screens.help_screen import HelpScreen

        self.app.push_screen(HelpScreen("tab-overview"))

    def action_explain(self) -> None:
        self.notify(first_line(self.reason), title="Nothing to look after yet", timeout=10)

    @work(thread=True, exclusive=True, group="no-server", exit_on_error=False)
    def action_look_again(self) -> None:
        reason = no_server_reason(self.locate())
        self.app.call_from_thread(self._looked, reason)

    def _looked(self, reason: str | None) -> None:
        if reason is None:
            self.dismiss(None)
            return
        self.reason = reason
        self.query_one("#no-server-line", Static).update(self._text())
        self.notify("Still no server: " + first_line(reason), timeout=10)
