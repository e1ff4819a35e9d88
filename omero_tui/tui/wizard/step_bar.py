"""The wizard's step bar: one mark per page, drawn from what the engine and journal said.

Never from the page's position alone: after a cancel, a failure, a resume or a
rollback the bar shows the same steps done, failed or put back as the page body does.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from omero_tui.core.record import frozen
from omero_tui.core.relocation import step_progress as sp
from omero_tui.tui.wizard.state import PAGE_TITLES, PAGES, WizardState

SETUP_PAGES = ("choose", "preflight", "plan", "confirm")
# The engine steps each run page shows, and the one whose "done" makes the page done.
RUN_GROUPS = {
    "stop": (("stop",), "stop"),
    "move": (("prepare", "copy", "rename", "verify"), "verify"),
    "config": (("config",), "config"),
    "start": (("start",), "start"),
}
MARKS = {
    sp.PENDING: ("·", "dim"),
    sp.RUNNING: ("▶", "bold"),
    sp.DONE: ("✓", "green"),
    sp.SKIPPED: ("–", "dim"),
    sp.FAILED: ("✗", "bold red"),
    sp.CANCELLED: ("‖", "bold yellow"),
    sp.INTERRUPTED: ("‖", "bold yellow"),
    sp.UNDONE: ("↺", "yellow"),
}


@frozen
class WizardView:
    """What the bar needs of the screen besides the state."""

    page: str  # a page of PAGES, or "problem"
    unfinished: bool = False  # the problem page: a journal waits for resume or rollback
    unchanged: bool = False  # the problem page: known for certain that nothing changed


def page_states(view: WizardView, state: WizardState) -> dict[str, str]:
    """Each page of PAGES -> a step_progress state."""
    result = state.result
    engine_ran = bool(state.events) or state.resumed is not None or state.running is not None
    steps = sp.step_states(
        state.events,
        state.resumed,
        running=state.running is not None,
        put_back=view.unchanged or (result is not None and result.outcome == "rolled back"),
    )
    pages: dict[str, str] = {}
    for index, page in enumerate(SETUP_PAGES):
        pages[page] = _setup_state(view.page, page, index, state, engine_ran)
    for page, (group, last) in RUN_GROUPS.items():
        pages[page] = sp.group_state(steps, group, last)
    pages["done"] = _done_state(state, steps)
    return pages


def _setup_state(current: str, page: str, index: int, state: WizardState, engine_ran: bool) -> str:
    if engine_ran or current not in SETUP_PAGES:
        return sp.DONE  # run pages and the problem page are reached only past Confirm
    here = SETUP_PAGES.index(current)
    if page == "preflight" and current == "preflight":
        prepared = state.prepared
        if state.prepare_error is not None or (prepared is not None and not prepared.preflight.ok):
            return sp.FAILED
    if index < here:
        return sp.DONE
    return sp.RUNNING if index == here else sp.PENDING


def _done_state(state: WizardState, steps: dict[str, str]) -> str:
    if state.running == "rollback" or steps.get("rollback") == sp.RUNNING:
        return sp.RUNNING
    result = state.result
    if result is None or not result.ok:
        return sp.RUNNING if steps.get("finish") == sp.RUNNING else sp.PENDING
    return sp.UNDONE if result.outcome == "rolled back" else sp.DONE


def bar_text(view: WizardView, state: WizardState) -> Text:
    pages = page_states(view, state)
    text = Text()
    for index, page in enumerate(PAGES):
        mark, style = MARKS[pages[page]]
        if index:
            text.append(" ")
        if page == view.page:
            if pages[page] == sp.PENDING:
                mark = "▶"
            title = "Rolled back" if pages[page] == sp.UNDONE and page == "done" else None
            text.append(f"{mark}{title or PAGE_TITLES[page]}", style=f"{style} reverse")
        else:
            text.append(mark, style=style)
    text.append_text(_suffix(view, pages))
    return text


def _suffix(view: WizardView, pages: dict[str, str]) -> Text:
    if view.page == "problem":
        if view.unfinished:
            return Text("  ! needs a decision", style="bold yellow")
        if view.unchanged:
            return Text("  stopped; nothing was changed", style="yellow")
        return Text("  ! look before acting", style="bold yellow")
    if view.page == "done" and pages["done"] == sp.UNDONE:
        return Text("  everything is as before", style="dim")
    if view.page == "done" and pages["done"] == sp.DONE:
        return Text("  complete", style="green")
    if view.page in PAGES:
        return Text(f"   step {PAGES.index(view.page) + 1} of {len(PAGES)}", style="dim")
    return Text()


class StepBar(Static):
    def show(self, view: WizardView, state: WizardState) -> None:
        self.update(bar_text(view, state))
