"""Said first when the console starts and finds an unfinished relocation journal."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.tui.wizard.choices_text import (
    resume_summary,
    rollback_refusal,
    rollback_summary,
)


class ResumePrompt(ModalScreen[str | None]):
    """Dismissed with "resume", "rollback", "look", or None (decide later)."""

    AUTO_FOCUS = "#prompt-look"  # a stray Enter only looks

    BINDINGS = [
        Binding("r", "choose('resume')", "Resume"),
        Binding("u", "choose('rollback')", "Roll back…"),
        Binding("l", "choose('look')", "Look"),
        Binding("escape", "choose('')", "Later"),
    ]

    def __init__(self, status: RelocationStatus) -> None:
        super().__init__()
        self.status = status
        self.refusal = rollback_refusal(status)  # the server ran on the target: resume only

    def compose(self) -> ComposeResult:
        status = self.status
        step = status.current_step or "between steps"
        why = f" ({status.failure})" if status.failure else ""
        body = Text(f"{status.source} → {status.target}\n", style="bold")
        body.append(f"Relocation {status.id} stopped at '{step}'{why}.\n")
        body.append("The source is untouched.\n\n", style="green")
        body.append("Resume: ", style="bold")
        body.append(resume_summary(status) + "\n")
        body.append("Roll back: ", style="bold")
        body.append(rollback_summary(status) + "\n")
        body.append("Look: open the wizard on it and decide there.", style="dim")
        with Vertical(classes="confirm-box"):
            yield Static("An unfinished relocation was found", classes="confirm-title")
            yield Static(body, classes="confirm-body")
            with Horizontal(classes="confirm-buttons"):
                yield Button("r Resume", id="prompt-resume", variant="primary")
                if self.refusal is None:
                    yield Button("u Roll back…", id="prompt-rollback", variant="warning")
                yield Button("l Look", id="prompt-look")
                yield Button("Later", id="prompt-later")

    def on_mount(self) -> None:
        self.query_one("#prompt-look", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = (event.button.id or "").removeprefix("prompt-")
        self.action_choose("" if choice == "later" else choice)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters == ("rollback",):
            return self.refusal is None
        return True

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
