"""Step 9: what happened, where the old copy is, and how to remove it and the stale cache."""

from __future__ import annotations

import shlex

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from omero_tui.core.findings import Severity
from omero_tui.tui.widgets.presentation import finding_text
from omero_tui.tui.wizard.run_text import event_log
from omero_tui.tui.wizard.state import WizardState
from omero_tui.tui.wizard.step_config import config_diff_text

RUNNING_WORDS = {
    "rollback": "Rolling back: putting everything back as it was…",
    "remove": "Removing the old copy, after comparing every file with the new one…",
}


class DonePage(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="page-done", classes="page")
        self.commands: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="done-status", classes="page-heading")
        yield Static(id="done-next", classes="section")
        yield Static(id="done-notes", classes="section")
        yield Static(id="done-config", classes="section")

    def show(self, state: WizardState) -> None:
        result = state.result
        status = self.query_one("#done-status", Static)
        if result is None or state.running is not None:
            # Said as the step bar says it: what runs now, not the outcome of a run before.
            words = RUNNING_WORDS.get(state.running or "", "Finishing…")
            status.update(Text(words, "cyan"))
            return
        ok = result.ok
        self.commands = []  # what `y` copies, besides the commands quoted in the text
        status.update(Text(f"{'✓' if ok else '✗'} {result.message}", "green" if ok else "red"))
        nxt = Text()
        plan = state.plan
        if plan is not None and result.outcome == "complete":
            if plan.method == "copy":
                nxt.append("The old copy is kept at ", style="bold")
                nxt.append(f"{plan.source_real}\n", style="bold")
                nxt.append("Check the server with `omero fs repos`, then remove it:\n")
                nxt.append("  x here (re-verifies first), or (y copies):\n")
                nxt.append("  omero-tui relocate --remove-source\n", style="bold")
                self.commands.append("omero-tui relocate --remove-source")
            memos = state.stale_memos
            if memos is not None:
                nxt.append(f"Stale Bio-Formats memo files: {memos.stale_dir}\n", style="bold")
                nxt.append("  OMERO rebuilds memos under the new path; k clears the old ones,\n")
                nxt.append("  or (y copies):\n")
                remove = f"rm -r -- {shlex.quote(memos.stale_dir)}"
                nxt.append(f"  {remove}\n", style="bold")
                self.commands.append(remove)
        if result.outcome == "source removed":
            nxt.append("The old copy is gone; the repository lives only at the new place.\n")
        if result.outcome == "rolled back":
            nxt.append("Everything is as it was before the relocation started.\n")
        self.query_one("#done-next", Static).update(nxt)
        notes = Text()
        for note in result.notes:
            if note.severity.rank >= Severity.INFO.rank:
                if notes:
                    notes.append("\n")
                notes.append_text(finding_text(note))
        finish = state.events_of("finish", "rollback", "remove-source")
        if finish:
            notes.append("\n\n" if notes else "")
            notes.append_text(event_log(finish))
        notes.append("\n\nEsc closes the wizard.", style="dim")
        self.query_one("#done-notes", Static).update(notes)
        # Still here once the config page has passed: what was changed, and how.
        self.query_one("#done-config", Static).update(config_diff_text(state))
