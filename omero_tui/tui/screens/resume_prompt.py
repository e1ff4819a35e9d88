"""Said first when the console starts and finds an unfinished relocation journal."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from omero_tui.core.relocation.relocate_dry_runs import describe_remaining, rollback_actions
from omero_tui.core.relocation.status import RelocationStatus


class ResumePrompt(ModalScreen[str | None]):
    """Dismissed with "resume", "rollback", "look", or None (decide later)."""

    BINDINGS = [
        Binding("r", "choose('resume')", "Resume"),
        Binding("u", "choose('rollback')", "Roll back…"),
        Binding("l", "choose('look')", "Look"),
        Binding("escape", "choose('')", "Later"),
    ]

    def __init__(self, status: RelocationStatus) -> None:
        super().__init__()
        self.status = status

    def compose(self) -> ComposeResult:
        status = self.status
        body = Text(f"{status.describe()}\n\n")
        body.append(f"The source {status.source} is untouched.\n", style="green")
        body.append("Resume would: ", style="bold")
        body.append("; ".join(describe_remaining(status)) + "\n")
        body.append("Roll back would: ", style="bold")
        body.append("; ".join(rollback_actions(status)))
        with Vertical(classes="confirm-box"):
            yield Static("An unfinished relocation was found", classes="confirm-title")
            yield Static(body, classes="confirm-body")
            with Horizontal(classes="confirm-buttons"):
                yield Button("r Resume", id="prompt-resume", variant="primary")
                yield Button("u Roll back…", id="prompt-rollback", variant="warning")
                yield Button("l Look", id="prompt-look")
                yield Button("Later", id="prompt-later")

    def on_mount(self) -> None:
        self.query_one("#prompt-look", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = (event.button.id or "").removeprefix("prompt-")
        self.action_choose("" if choice == "later" else choice)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
