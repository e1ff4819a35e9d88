"""Step 8: the server started on the new location, and OMERO's own word that it noticed."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.tui.wizard.run_text import event_log
from omero_tui.tui.wizard.state import WizardState


class StartPage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-start", classes="page")

    def compose(self) -> ComposeResult:
        yield Static(id="start-status", classes="page-heading")
        yield Static(id="start-log", classes="section")

    def show(self, state: WizardState) -> None:
        step = state.step_state("start")
        status = self.query_one("#start-status", Static)
        if step == "done":
            status.update(Text("✓ The server is running on the new location", "green"))
        elif step == "skipped":
            status.update(Text("– The server was not running before: left stopped", "dim"))
        elif step == "failed":
            status.update(Text("✗ The server did not start cleanly", "bold red"))
        elif step == "started":
            status.update(Text("Starting the server and waiting for it to be up…", "cyan"))
        else:
            status.update(Text("Waiting for the configuration", "dim"))
        log = event_log(state.events_of("start"))
        log.append(
            '\n\nOMERO logs "Data directory moved: OLD updated to NEW" in Blitz-0.log when it '
            "sees a moved repository; the line is quoted above when it is found.",
            style="dim",
        )
        self.query_one("#start-log", Static).update(log)
