"""Pick the user the Permissions panel judges for: the server's own, a listed one, or typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

AUTOMATIC = ""  # the result meaning "work the server user out again"


class PermsUserPicker(ModalScreen[str | None]):
    """Dismissed with a user name, AUTOMATIC, or None when the admin backs out."""

    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, candidates: list[str], current: str, decided_by: str) -> None:
        super().__init__()
        self.candidates = candidates
        self.current = current
        self.decided_by = decided_by

    def compose(self) -> ComposeResult:
        with Vertical(id="perms-picker"):
            yield Static(
                f"Check permissions for which user?  Now: [b]{self.current}[/b] "
                f"({self.decided_by})",
                id="perms-picker-title",
            )
            options = [Option("automatic: the server's own user", id="auto")]
            options += [Option(name, id=f"user:{name}") for name in self.candidates]
            yield OptionList(*options, id="perms-picker-list")
            yield Input(
                placeholder="or type a user name or uid, then Enter", id="perms-picker-input"
            )

    def on_mount(self) -> None:
        # Typing a name is the quick path; Tab reaches the list.
        self.query_one("#perms-picker-input", Input).focus()

    @on(OptionList.OptionSelected, "#perms-picker-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or "auto"
        self.dismiss(AUTOMATIC if option_id == "auto" else option_id.removeprefix("user:"))

    @on(Input.Submitted, "#perms-picker-input")
    def _typed(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
