"""When a step fails or the move is cancelled: what happened, the state now, the choices."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.tui.wizard.choices_text import resume_summary, rollback_summary


class ProblemPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-problem", classes="page")
        self.commands: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="problem-what", classes="page-heading")
        yield Static(id="problem-state", classes="section")
        yield Static(id="problem-choices", classes="section")

    def show(
        self, what: str, status: RelocationStatus | None, *, cancelled: bool, unchanged: bool
    ) -> None:
        self.commands: list[str] = []  # what `y` copies
        heading = "The relocation was cancelled" if cancelled else "The relocation stopped"
        text = Text(f"{heading}\n", style="bold yellow" if cancelled else "bold red")
        text.append(what)
        self.query_one("#problem-what", Static).update(text)
        state = Text("Where things stand now\n", style="bold")
        choices = Text("What you can do\n", style="bold")
        if (status is None or not status.unfinished) and unchanged:
            state.append("Nothing was changed: the server, the data and config.xml are as before.")
            choices.append("  Esc  close the wizard\n")
        elif status is None or not status.unfinished:
            # Never claim "nothing changed" without knowing it.
            state.append(
                "The relocation journal does not say what was done, so this console will not "
                "guess.",
                style="bold yellow",
            )
            choices.append("  Esc  close, then look before anything else (y copies):\n")
            self.commands = [
                "omero-tui relocate --resume --dry-run",
                "omero-tui relocate --rollback --dry-run",
            ]
        else:
            step = status.current_step or "between steps"
            why = f" ({status.failure})" if status.failure else ""
            state.append(f"Relocation {status.id} stopped at '{step}'{why}.\n")
            state.append(f"The source {status.source} is untouched.\n", style="green")
            held = status.server_held()
            if held:
                state.append(f"{held}\n", style="bold yellow")
            done = ", ".join(status.steps_done) or "none"
            state.append(f"Steps done: {done}\n", style="dim")
            choices.append("  r    resume: ", style="bold")
            choices.append(resume_summary(status) + "\n")
            choices.append("  u    roll back: ", style="bold")
            choices.append(rollback_summary(status) + "\n")
            choices.append("  Esc  leave it; resume or roll back later, here or with (y copies):\n")
            self.commands = ["omero-tui relocate --resume", "omero-tui relocate --rollback"]
        for command in self.commands:
            # Each on its own line, never wrapped into the sentence: selectable whole.
            choices.append(f"       {command}\n", style="bold")
        self.query_one("#problem-state", Static).update(state)
        self.query_one("#problem-choices", Static).update(choices)
