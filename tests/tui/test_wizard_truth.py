"""Cancel and quit tell the truth (#14, item 4), with the real engine on a DemoSession.

The only stand-in is named in each test's name: a paused engine, whose copy is held at
its first progress report so a key arrives at a known instant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.commands.tui_cmd import keep_if_unfinished
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.relocation.engine import EngineOptions
from omero_tui.core.relocation.status import find_unfinished_relocation
from omero_tui.core.settings import DEMO_STATE_DIR
from tests.appkit import settle, text_of
from tests.wizardkit import (
    FAST,
    choose,
    confirm_and_run,
    interrupted_journal,
    open_wizard,
    paused_engine,
    until_finished,
    wait_for,
    wizard_app,
)

pytestmark = pytest.mark.xdist_group("wizard")


def messages(app) -> list[str]:  # noqa: ANN001
    return [n.message for n in app._notifications]


async def test_a_cancel_answered_after_the_move_completed_says_too_late_with_a_paused_engine(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    box = session.sandbox
    state = tmp_path / "state"
    source, reached, release = paused_engine(
        EngineOptions(state_dir=state, env=session.env, **FAST)
    )
    app = wizard_app(box, state, session.env, source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await choose(pilot, str(other_fs / "OMERO"))
        screen = await confirm_and_run(pilot)
        await wait_for(pilot, reached.is_set)
        await wait_for(pilot, lambda: screen.page == "move")
        await pilot.press("c")  # the question is asked while the copy runs...
        await pilot.pause()
        release.set()
        # ...and answered once the relocation completed
        await wait_for(pilot, lambda: screen.state.running is None, 90)
        assert screen.page == "done"
        await pilot.click("#confirm-yes")
        await pilot.pause()
        assert "Too late: the relocation already completed." in messages(app)
        assert not any("next safe point" in m for m in messages(app))
        assert not screen.cancel_event.is_set()  # nothing later is cancelled by it
        await pilot.press("escape")  # and Esc on the Done page just closes
        await pilot.pause()
        assert screen.state.result.outcome == "complete"
    assert find_unfinished_relocation(state) is None


async def test_after_a_cancel_the_page_and_the_overview_say_the_server_is_stopped_and_why(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    box = session.sandbox
    state = tmp_path / "state"
    source, reached, release = paused_engine(
        EngineOptions(state_dir=state, env=session.env, **FAST)
    )
    app = wizard_app(box, state, session.env, source=source, panel="tab-overview")
    # One state dir for the Overview and the wizard, as the console has.
    sources = app.sources
    app.sources = type(sources)(
        **{**sources.__dict__, "health": type(sources.health)(state_dir=state)}
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_wizard(pilot)
        await choose(pilot, str(other_fs / "OMERO"))
        screen = await confirm_and_run(pilot)
        await wait_for(pilot, reached.is_set)
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#confirm-yes")
        release.set()
        await until_finished(pilot)
        assert screen.page == "problem"
        said = " ".join(text_of(app, "#problem-state").split())
        assert "The server is stopped: relocation" in said and "was cancelled" in said
        await pilot.press("escape")
        overview = app.screen_stack[0].query_one("#overview-panel")
        await wait_for(pilot, lambda: not overview.has_class("-stale"), 60)
        server = next(a for a in overview.report.areas if a.area == "server")
        assert server.headline.startswith("The server is stopped: relocation")
        assert server.severity.rank > 0


def test_quitting_a_throwaway_demo_mid_move_keeps_the_sandbox_and_its_journal(
    tmp_path: Path,
) -> None:
    with DemoSession(root=None, start_server=False) as session:
        root = session.sandbox.root
        state = root / DEMO_STATE_DIR
        state.mkdir()
        assert keep_if_unfinished(session, throwaway=True) == []  # nothing unfinished
        interrupted_journal(state, root)
        said = keep_if_unfinished(session, throwaway=True)
    try:
        assert root.is_dir(), "the sandbox and its journal were deleted"
        assert find_unfinished_relocation(state) is not None
        assert f"kept at {root}, not deleted" in said[0]
        assert f"omero-tui demo --dir {root}" in said[1]
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
