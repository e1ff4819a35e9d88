"""Step 6: the move itself: a rename, or a copy with progress, then the verification."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static

from omero_tui.tui.wizard.run_text import event_log, progress_line
from omero_tui.tui.wizard.state import WizardState

MOVE_STEPS = ("prepare", "copy", "rename", "verify")


class MovePage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-move", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="move-status", classes="page-heading")
        yield ProgressBar(id="move-progress", show_eta=False)
        yield Static(id="move-figures", classes="section")
        yield Static(id="move-log", classes="section")

    def show(self, state: WizardState) -> None:
        current = next((s for s in reversed(MOVE_STEPS) if state.step_state(s) is not None), None)
        status = self.query_one("#move-status", Static)
        bar = self.query_one("#move-progress", ProgressBar)
        figures = self.query_one("#move-figures", Static)
        progress = state.progress.get(current or "")
        if current is None:
            status.update(Text("Waiting for the server to stop", "dim"))
        elif state.step_state("verify") == "done":
            status.update(Text("✓ Moved and verified: the new copy equals the source", "green"))
        elif any(state.step_state(s) == "failed" for s in MOVE_STEPS):
            status.update(Text("✗ The move stopped; the source is untouched", "bold red"))
        else:
            words = {
                "prepare": "Preparing the target",
                "copy": "Copying",
                "rename": "Renaming",
                "verify": "Verifying the new copy against the source",
            }
            status.update(Text(f"{words[current]}… (c cancels at a safe point)", "cyan"))
        if progress is not None and progress.bytes_total:
            bar.update(total=progress.bytes_total, progress=progress.bytes_done)
        elif progress is not None and progress.files_total:
            bar.update(total=progress.files_total, progress=progress.files_done)
        elif state.step_state("verify") == "done":
            bar.update(total=1, progress=1)
        figures.update(progress_line(progress) if progress is not None else "")
        self.query_one("#move-log", Static).update(event_log(state.events_of(*MOVE_STEPS)))
