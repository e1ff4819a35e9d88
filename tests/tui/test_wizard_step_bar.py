"""The wizard's step bar and its page body agree at every step (#14, item 7), at 80x24.

The real engine on a DemoSession; the only stand-ins are named in each test's name: a
paused engine (its copy held at its first report, so a cancel lands at a known instant)
and the demo server's fault file (a stop it refuses, a start that dies).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.relocation.engine import EngineOptions
from omero_tui.tui.wizard.source import WizardSource
from tests.appkit import text_of
from tests.wizardkit import (
    FAST,
    cancel_mid_copy,
    choose,
    confirm_and_run,
    open_wizard,
    paused_wizard_app,
    until_finished,
    wait_for,
    wizard_app,
    write_faults,
)

pytestmark = pytest.mark.xdist_group("wizard")


def bar(app) -> str:  # noqa: ANN001
    return text_of(app, "#wizard-steps").strip()


def said(app, selector: str) -> str:  # noqa: ANN001
    return " ".join(text_of(app, selector).split())


async def test_step_bar_follows_a_cancel_then_a_resume_with_a_paused_engine(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    app, reached, release = paused_wizard_app(session, tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        assert bar(app) == "▶Choose · · · · · · · ·   step 1 of 9"
        await choose(pilot, str(other_fs / "OMERO"))
        assert bar(app) == "✓ ▶Preflight · · · · · · ·   step 2 of 9"
        await pilot.press("n")
        assert bar(app) == "✓ ✓ ▶Plan · · · · · ·   step 3 of 9"
        await pilot.press("b")  # back: the plan is no longer done
        assert bar(app) == "✓ ▶Preflight · · · · · · ·   step 2 of 9"
        await confirm_and_run(pilot)
        await wait_for(pilot, reached.is_set)
        await wait_for(pilot, lambda: screen.page == "move")
        await pilot.pause()
        # The server is stopped and proven so; the copy runs.
        assert bar(app) == "✓ ✓ ✓ ✓ ✓ ▶Move · · ·   step 6 of 9"
        assert said(app, "#move-status").startswith("Copying…")
        await cancel_mid_copy(pilot, screen, reached, release)
        assert screen.page == "problem"
        # Stop done, the move cancelled, nothing after it: as the page body says.
        assert bar(app) == "✓ ✓ ✓ ✓ ✓ ‖ · · ·  ! needs a decision"
        body = said(app, "#problem-state")
        assert "Steps done: stop, prepare" in body and "stopped at 'copy'" in body
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.state.running is None, 90)
        await pilot.pause()
        assert screen.page == "done", screen.problem
        assert bar(app) == "✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓Done  complete"
        assert said(app, "#done-status").startswith("✓ moved")


async def test_step_bar_shows_a_rollback_as_undone_with_a_paused_engine(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    app, reached, release = paused_wizard_app(session, tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await choose(pilot, str(other_fs / "OMERO"))
        await confirm_and_run(pilot)
        await cancel_mid_copy(pilot, screen, reached, release)
        await pilot.press("u")
        await pilot.pause()
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: screen.state.result.outcome == "rolled back", 90)
        await until_finished(pilot)
        assert screen.page == "done"
        # Nothing is claimed done that the rollback put back.
        assert bar(app) == "✓ ✓ ✓ ✓ ↺ ↺ · · ↺Rolled back  everything is as before"
        assert "Everything is as it was" in said(app, "#done-next")


async def test_step_bar_marks_a_refused_stop_failed_and_nothing_changed_with_a_fault_file(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    write_faults(box, refuse_stop=True)
    app = wizard_app(box, tmp_path / "state", session.env)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_wizard(pilot)
            await choose(pilot, str(box.second_volume / "OMERO"))
            await confirm_and_run(pilot)
            await until_finished(pilot)
            assert screen.page == "problem"
            assert bar(app) == "✓ ✓ ✓ ✓ ✗ · · · ·  stopped; nothing was changed"
            assert "Nothing was changed:" in said(app, "#problem-state")
    finally:
        write_faults(box)


async def test_step_bar_marks_a_start_that_died_failed_after_the_move_with_a_fault_file(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    write_faults(box, die_on_start=True)
    state = tmp_path / "state"
    # The demo fault dies 0.5 s after coming up: the start is watched for longer.
    slow = {**FAST, "start_settle_s": 1.5}
    source = WizardSource(options=EngineOptions(state_dir=state, env=session.env, **slow))
    app = wizard_app(box, state, session.env, source=source)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_wizard(pilot)
            await choose(pilot, str(box.second_volume / "OMERO"))
            await confirm_and_run(pilot)
            await until_finished(pilot)
            assert screen.page == "problem", screen.state.result
            assert bar(app) == "✓ ✓ ✓ ✓ ✓ ✓ ✓ ✗ ·  ! needs a decision"
            body = said(app, "#problem-state")
            assert "stopped at 'start'" in body
            assert "Steps done: stop, prepare, rename, verify, config" in body
    finally:
        write_faults(box)
