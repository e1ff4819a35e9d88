"""The confirm step before the Permissions panel changes anything on disk.

Shows exactly what will run. Cancel has the focus, so a stray Enter changes nothing;
when the console lacks the rights, there is no Apply button at all, only the reason.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class PermsConfirm(ModalScreen[bool]):
    """Dismissed with True only when the admin presses Apply."""

    AUTO_FOCUS = "#perms-confirm-cancel"  # a stray Enter changes nothing

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, lines: list[str], *, blocked: str | None = None, action: str = "Apply"
    ) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.blocked = blocked
        self.action = action

    def compose(self) -> ComposeResult:
        body = Text()
        for index, line in enumerate(self.lines):
            if index:
                body.append("\n")
            body.append(line, style="bold" if not line.startswith("#") else "dim")
        if self.blocked:
            body.append(f"\n\nThis console cannot do it: {self.blocked}.", style="bold red")
        with Vertical(id="perms-confirm"):
            yield Static(self.title_text, id="perms-confirm-title")
            yield Static(body, id="perms-confirm-body")
            with Horizontal(id="perms-confirm-buttons"):
                if not self.blocked:
                    yield Button(self.action, id="perms-confirm-apply", variant="warning")
                yield Button("Cancel" if not self.blocked else "Close", id="perms-confirm-cancel")

    def on_mount(self) -> None:
        self.query_one("#perms-confirm-cancel", Button).focus()

    @on(Button.Pressed, "#perms-confirm-apply")
    def _apply(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#perms-confirm-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
