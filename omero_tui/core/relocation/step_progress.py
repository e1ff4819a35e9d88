"""How far each engine step got: the journal's word, overridden by this run's events.

The wizard's step bar is drawn from this, so it can never claim a step the journal
and the engine do not: a step is "done" only once the engine said so, "failed" or
"cancelled" with the reason it gave, and "undone" once a rollback put it back.
"""

from __future__ import annotations

from collections.abc import Sequence

from omero_tui.core.relocation.engine_context import StepEvent
from omero_tui.core.relocation.status import RelocationStatus

# Every state a step can be in, as the step bar tells them apart.
PENDING, RUNNING, DONE, SKIPPED = "pending", "running", "done", "skipped"
FAILED, CANCELLED, INTERRUPTED, UNDONE = "failed", "cancelled", "interrupted", "undone"
# Steps that change nothing themselves: never "undone" by a rollback.
BOOKKEEPING = ("rollback", "finish", "remove-source")


def step_states(
    events: Sequence[StepEvent],
    journal: RelocationStatus | None,
    *,
    running: bool,
    put_back: bool = False,
) -> dict[str, str]:
    """Each step the journal or the events name -> its state; a step absent is pending.

    ``running``: the engine works now, so a step the journal saw fail is about to be
    retried (pending), not failed. ``put_back``: the run ended with everything as it was
    before (a rollback, or an abort that restarted the server it had stopped).
    """
    states: dict[str, str] = {}
    if journal is not None:
        for step in journal.steps_started:
            if journal.done(step):
                states[step] = DONE
            elif not running:
                if step == journal.current_step and journal.failure:
                    states[step] = _failure_state(journal.failure)
                else:
                    states[step] = INTERRUPTED
        if journal.state == "rolled back":
            put_back = True
    for event in events:
        if event.state == "started":
            states[event.step] = RUNNING if running else INTERRUPTED
        elif event.state == "failed":
            states[event.step] = _failure_state(event.message)
        elif event.state in (DONE, SKIPPED):
            states[event.step] = event.state
    if states.get("rollback") == DONE:
        put_back = True
    if put_back:
        # A failed step keeps its mark: it says where things went wrong, and it did not
        # get far enough to be undone.
        for step, state in states.items():
            if step not in BOOKKEEPING and state not in (PENDING, FAILED):
                states[step] = UNDONE
    return states


def _failure_state(reason: str) -> str:
    return CANCELLED if "cancel" in reason.lower() else FAILED


def group_state(states: dict[str, str], steps: Sequence[str], last: str) -> str:
    """One state for a group of steps shown as one (the move: prepare, copy, verify):
    the worst of them, and done only once ``last`` is done."""
    found = [states[s] for s in steps if s in states]
    for state in (FAILED, CANCELLED, INTERRUPTED, RUNNING, UNDONE):
        if state in found:
            return state
    if states.get(last) in (DONE, SKIPPED):
        return states[last]
    return PENDING
