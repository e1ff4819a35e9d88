"""How far each engine step got, from the journal and the run's events (the step bar's truth)."""

from __future__ import annotations

from omero_tui.core.relocation import step_progress as sp
from omero_tui.core.relocation.engine_context import StepEvent
from omero_tui.core.relocation.status import status_of

MOVE = ("prepare", "copy", "rename", "verify")


def journal(*steps: tuple[str, str, str | None], end: str | None = None):  # noqa: ANN201
    records = [{"type": "begin", "id": "r1", "plan": {"source": "/a", "target": "/b"}}]
    for step, state, detail in steps:
        records.append({"type": "step", "step": step, "state": state, "detail": detail})
    if end:
        records.append({"type": "end", "outcome": end})
    return status_of(records, "/state/r1.jsonl")


CANCELLED_IN_COPY = journal(
    ("stop", "started", None),
    ("stop", "done", None),
    ("prepare", "started", None),
    ("prepare", "done", None),
    ("copy", "started", None),
    ("copy", "failed", "copy cancelled; resume continues after the last recorded batch"),
)


def test_a_journal_cancelled_in_its_copy_shows_the_stop_done_and_the_move_cancelled() -> None:
    states = sp.step_states([], CANCELLED_IN_COPY, running=False)
    assert states == {"stop": sp.DONE, "prepare": sp.DONE, "copy": sp.CANCELLED}
    assert sp.group_state(states, MOVE, "verify") == sp.CANCELLED
    assert sp.group_state(states, ("config",), "config") == sp.PENDING


def test_while_a_resume_runs_the_step_it_will_retry_is_pending_not_failed() -> None:
    states = sp.step_states(
        [StepEvent("stop", "started", "stopping")], CANCELLED_IN_COPY, running=True
    )
    assert states["stop"] == sp.RUNNING
    assert "copy" not in states
    assert sp.group_state(states, MOVE, "verify") == sp.PENDING


def test_events_of_the_run_win_over_the_journal_and_a_failure_keeps_its_reason() -> None:
    events = [
        StepEvent("copy", "done", "copied"),
        StepEvent("verify", "done", "verified"),
        StepEvent("config", "done", "rewritten"),
        StepEvent("start", "started", "starting"),
        StepEvent("start", "info", "a detail is no state"),
        StepEvent("start", "failed", "the server died at once"),
    ]
    states = sp.step_states(events, CANCELLED_IN_COPY, running=False)
    assert sp.group_state(states, MOVE, "verify") == sp.DONE
    assert states["config"] == sp.DONE and states["start"] == sp.FAILED


def test_a_step_started_and_never_ended_without_the_engine_is_interrupted() -> None:
    killed = journal(("stop", "started", None), ("stop", "done", None), ("copy", "started", None))
    assert sp.step_states([], killed, running=False)["copy"] == sp.INTERRUPTED
    assert sp.step_states([StepEvent("copy", "started", "")], None, running=False) == {
        "copy": sp.INTERRUPTED
    }


def test_after_a_rollback_every_step_that_acted_is_undone() -> None:
    events = [StepEvent("rollback", "started", ""), StepEvent("rollback", "done", "")]
    states = sp.step_states(events, CANCELLED_IN_COPY, running=False)
    assert states["stop"] == states["prepare"] == states["copy"] == sp.UNDONE
    assert states["rollback"] == sp.DONE
    rolled = journal(("stop", "started", None), ("stop", "done", None), end="rolled back")
    assert sp.step_states([], rolled, running=False) == {"stop": sp.UNDONE}
    aborted = [StepEvent("stop", "done", "stopped")]
    assert sp.step_states(aborted, None, running=False, put_back=True) == {"stop": sp.UNDONE}


def test_a_skipped_last_step_makes_its_group_skipped() -> None:
    states = sp.step_states([StepEvent("start", "skipped", "was not running")], None, running=False)
    assert sp.group_state(states, ("start",), "start") == sp.SKIPPED
