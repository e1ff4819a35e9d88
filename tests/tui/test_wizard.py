"""Pilot tests: the relocation wizard on the demo sandbox, with the real engine.

Every test runs the stand-in server of a DemoSession and the real relocation engine;
the only stand-in is the one named in a test's name (a paused engine, to cancel at a
known instant).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.relocation.engine import EngineOptions, run_relocation
from omero_tui.core.relocation.status import find_unfinished_relocation
from omero_tui.core.server.processes import find_server_processes
from omero_tui.tui.screens.resume_prompt import ResumePrompt
from tests.wizardkit import (
    FAST,
    choose,
    confirm_and_run,
    data_dir_in_config,
    listing,
    open_wizard,
    paused_engine,
    until_finished,
    wait_for,
    wizard,
    wizard_app,
    write_faults,
)

pytestmark = pytest.mark.xdist_group("wizard")


def identity(path: Path) -> list[tuple[str, str | None]]:
    return [(e.db_uuid, e.repo_uuid) for e in read_identity(str(path), "repository").entries]


async def test_whole_wizard_renames_on_one_filesystem_and_server_runs_there(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    target = box.second_volume / "OMERO"
    before = listing(box.data_dir)
    ident = identity(box.data_dir)
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        screen = await choose(pilot, str(target))
        assert screen.state.prepared.preflight.ok
        assert screen.page == "preflight"
        await confirm_and_run(pilot)
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        assert screen.state.result.outcome == "complete"
        assert screen.state.step_state("stop") == "done"
        assert screen.state.step_state("rename") == "done"
        assert screen.state.config_before and screen.state.config_after
    assert not box.data_dir.exists()
    assert listing(target) == before
    assert identity(target) == ident
    assert data_dir_in_config(box) == str(target)
    assert find_server_processes(box.server_dir), "the stand-in server was not started again"


async def test_whole_wizard_copies_across_filesystems_and_keeps_the_source(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    box = session.sandbox
    target = other_fs / "OMERO"
    before = listing(box.data_dir)
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_wizard(pilot)
        await choose(pilot, str(target))
        screen = await confirm_and_run(pilot, word=str(target))  # the path confirms too
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        assert screen.state.step_state("copy") == "done"
        assert screen.state.step_state("verify") == "done"
        assert screen.state.progress["copy"].bytes_done > 0
        assert screen.check_action("remove_source", ()) is True
    assert listing(target) == before
    assert listing(box.data_dir) == before  # the source is kept until removed explicitly
    assert data_dir_in_config(box) == str(target)


async def test_preflight_refuses_a_target_inside_the_source_and_nothing_changes(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    config = box.config_path.read_bytes()
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        screen = await choose(pilot, str(box.data_dir / "Pixels" / "new"))
        refused = screen.state.prepare_error or "; ".join(
            c.reason for c in screen.state.prepared.preflight.failures
        )
        assert "inside" in refused
        assert screen.check_action("next", ()) is False or not screen.state.prepared.preflight.ok
        await pilot.press("n")
        assert screen.page == "preflight"  # no way on to the plan
        await pilot.press("b")
        assert screen.page == "choose"
    assert box.config_path.read_bytes() == config
    assert not (box.data_dir / "Pixels" / "new").exists()


async def test_a_server_that_will_not_stop_lands_on_the_problem_page_with_nothing_moved(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    write_faults(box, refuse_stop=True)
    config = box.config_path.read_bytes()
    before = listing(box.data_dir)
    target = box.second_volume / "OMERO"
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await choose(pilot, str(target))
        screen = await confirm_and_run(pilot)
        await until_finished(pilot)
        assert screen.page == "problem"
        what, status, cancelled = screen.problem
        assert "stop" in what.lower() and not cancelled
        assert status is None or not status.unfinished  # aborted: nothing to resume
    write_faults(box)
    assert listing(box.data_dir) == before
    assert not target.exists()
    assert box.config_path.read_bytes() == config


async def test_cancel_mid_move_with_a_paused_engine_then_resume_completes(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    box = session.sandbox
    state = tmp_path / "state"
    target = other_fs / "OMERO"
    before = listing(box.data_dir)
    source, reached, release = paused_engine(
        EngineOptions(state_dir=state, env=session.env, **FAST)
    )
    app = wizard_app(box, state, session.env, source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await choose(pilot, str(target))
        screen = await confirm_and_run(pilot)
        await wait_for(pilot, reached.is_set)
        await wait_for(pilot, lambda: screen.page == "move")
        await pilot.press("c")  # asks first
        await pilot.pause()
        await pilot.click("#confirm-yes")
        assert screen.cancel_event.is_set()
        release.set()
        await until_finished(pilot)
        assert screen.page == "problem"
        assert screen.problem[2] is True  # cancelled
        status = find_unfinished_relocation(state)
        assert status is not None and status.state == "interrupted"
        assert data_dir_in_config(box) == str(box.data_dir)  # config untouched so far
        assert screen.check_action("resume", ()) is True
        await pilot.press("r")
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        assert screen.state.result.outcome == "complete"
    assert listing(target) == before
    assert data_dir_in_config(box) == str(target)
    assert find_unfinished_relocation(state) is None


async def test_start_up_offers_resume_for_an_unfinished_journal_and_resume_completes(
    session: DemoSession, tmp_path: Path, other_fs: Path
) -> None:
    box = session.sandbox
    state = tmp_path / "state"
    target = other_fs / "OMERO"
    options = EngineOptions(state_dir=state, env=session.env, **FAST)
    # An interrupted relocation, left by the engine itself: cancelled in its first copy batch.
    from omero_tui.core.discovery import discover
    from omero_tui.core.relocation.engine import prepare_relocation

    location = discover(server_dir_arg=str(box.server_dir), env={}, candidates=[])
    prepared = prepare_relocation(location, str(target), options=options)
    cancel = threading.Event()
    outcome = run_relocation(
        prepared,
        options=options,
        cancel=cancel,
        progress=lambda p: cancel.set() if p.step == "copy" else None,
    )
    assert outcome.outcome == "cancelled"
    app = wizard_app(box, state, session.env, panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResumePrompt))
        await pilot.press("r")
        await wait_for(pilot, lambda: wizard(app).state.running is not None, 30)
        screen = await until_finished(pilot)
        assert screen.page == "done", screen.problem
    assert data_dir_in_config(box) == str(target)
    assert find_unfinished_relocation(state) is None
