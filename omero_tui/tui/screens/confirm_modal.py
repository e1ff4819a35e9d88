"""A question before something that cannot be taken back, or that stops work under way.

Cancel has the focus, so a stray Enter changes nothing. With ``word`` set, the action
button stays disabled until the admin has typed that word: for deletions.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ConfirmModal(ModalScreen[bool]):
    """Dismissed with True only when the admin presses the action button."""

    AUTO_FOCUS = "#confirm-word, #confirm-no"  # never the action: a stray Enter cancels

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        lines: list[str],
        *,
        action: str = "Yes",
        cancel: str = "Cancel",
        word: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.action = action
        self.cancel_label = cancel
        self.word = word

    def compose(self) -> ComposeResult:
        body = Text("\n".join(self.lines))
        with Vertical(classes="confirm-box"):
            yield Static(self.title_text, classes="confirm-title")
            yield Static(body, classes="confirm-body")
            if self.word:
                yield Static(f"Type {self.word} to confirm:", classes="confirm-body")
                yield Input(placeholder=self.word, id="confirm-word")
            with Horizontal(classes="confirm-buttons"):
                yield Button(
                    self.action, id="confirm-yes", variant="warning", disabled=bool(self.word)
                )
                yield Button(self.cancel_label, id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-word" if self.word else "#confirm-no").focus()

    @on(Input.Changed, "#confirm-word")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-yes", Button).disabled = event.value.strip() != self.word

    @on(Input.Submitted, "#confirm-word")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
