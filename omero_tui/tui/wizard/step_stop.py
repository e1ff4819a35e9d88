"""Step 5: the server is stopped, and the stop is proven (status, processes, open files)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.tui.wizard.run_text import event_log
from omero_tui.tui.wizard.state import WizardState


class StopPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-stop", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="stop-status", classes="page-heading")
        yield Static(id="stop-log", classes="section")

    def show(self, state: WizardState) -> None:
        step = state.step_state("stop")
        status = self.query_one("#stop-status", Static)
        if step == "done":
            status.update(Text("✓ The server is stopped, and nothing holds the files", "green"))
        elif step == "failed":
            status.update(Text("✗ The server could not be proven stopped", "bold red"))
        elif step == "started":
            status.update(Text("Stopping the server and proving it stopped…", "cyan"))
        else:
            status.update(Text("Waiting to stop the server", "dim"))
        log = event_log(state.events_of("stop"))
        log.append(
            "\n\nProof means: the controller reports stopped, no process of the server dir is "
            "alive, and no process has a file open under the source.",
            style="dim",
        )
        self.query_one("#stop-log", Static).update(log)
