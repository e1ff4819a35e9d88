"""Step 4: the admin types the target (or the word relocate); only then does anything change."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from omero_tui.core.relocation.target_trust import RAM_CODE, RAM_CONFIRMATION
from omero_tui.tui.wizard.state import WizardState

WORD = "relocate"


def confirmed(typed: str, target: str, in_ram: str | None = None) -> bool:
    text = typed.strip()
    if in_ram:  # only the words that say the admin knows: never a reflex "relocate"
        return text == RAM_CONFIRMATION
    return text == WORD or (bool(target) and text.rstrip("/") == target.rstrip("/"))


def ram_warning(state: WizardState) -> str | None:
    """The preflight's warning that the target lives in memory, or None."""
    if state.prepared is None:
        return None
    checks = state.prepared.preflight.warnings
    return next((c.reason for c in checks if c.code == RAM_CODE), None)


class ConfirmPage(VerticalScroll):
    class Confirmed(Message):
        """The admin typed the confirmation and pressed Enter."""

    def __init__(self) -> None:
        super().__init__(id="page-confirm", classes="page")
        self.target = ""
        self.in_ram: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="confirm-what", classes="section")
        yield Input(placeholder=WORD, id="confirm-typed")
        yield Static(id="confirm-state", classes="section")

    def show(self, state: WizardState) -> None:
        if state.prepared is None:
            return
        plan = state.prepared.plan
        self.target = plan.target
        text = Text()
        text.append("This will:\n", style="bold")
        text.append(f"  1. stop the server ({plan.controller or 'as configured'})\n")
        verb = "rename" if plan.method == "rename" else "copy and verify"
        text.append(f"  2. {verb} {plan.source_real}\n     to {plan.target}\n")
        keys = ", ".join(c.key for c in plan.config_changes) or "nothing"
        text.append(f"  3. set {keys} in config.xml (a backup is kept)\n")
        text.append("  4. start the server again if it was running\n")
        if plan.method == "copy":
            text.append("The source stays untouched until you remove it yourself.\n", style="dim")
        self.in_ram = ram_warning(state)
        if self.in_ram:
            text.append(f"\n! {self.in_ram}.\n", style="bold yellow")
            text.append("If you know the data there is lost at reboot, type ")
            text.append(RAM_CONFIRMATION, style="bold")
            text.append(", then press Enter:")
        else:
            text.append("\nType the target path, or the word ")
            text.append(WORD, style="bold")
            text.append(", then press Enter:")
        self.query_one("#confirm-what", Static).update(text)
        self._judge(self.query_one("#confirm-typed", Input).value)

    def focus_input(self) -> None:
        self.query_one("#confirm-typed", Input).focus()

    @on(Input.Changed, "#confirm-typed")
    def _changed(self, event: Input.Changed) -> None:
        self._judge(event.value)

    @on(Input.Submitted, "#confirm-typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if confirmed(event.value, self.target, self.in_ram):
            self.post_message(self.Confirmed())

    def _judge(self, typed: str) -> None:
        state = self.query_one("#confirm-state", Static)
        if confirmed(typed, self.target, self.in_ram):
            state.update(Text("Enter starts the relocation.", style="bold yellow"))
        elif typed.strip() and self.in_ram:
            state.update(Text(f"Type {RAM_CONFIRMATION} to go on, or Esc.", style="dim"))
        elif typed.strip():
            state.update(Text("That is neither the target path nor the word.", style="dim"))
        else:
            state.update(Text("Nothing has changed so far; Esc closes the wizard.", style="dim"))
