"""Pilot tests: the demo wizard runs a verified copy on one filesystem, keeps the old copy,
removes it with x, and a copy can be cancelled and rolled back; the browser opens beside
the repository, not inside it.

The real engine and the demo's stand-in server; the only other stand-in is the one named
in a test's name (a paused engine, to cancel at a known instant).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.relocation.engine import EngineOptions
from omero_tui.core.relocation.status import find_unfinished_relocation
from omero_tui.tui.wizard.dir_picker import DirectoryPicker
from tests.appkit import text_of
from tests.wizardkit import (
    FAST,
    cancel_mid_copy,
    confirm_and_run,
    data_dir_in_config,
    listing,
    open_wizard,
    paused_engine,
    until_finished,
    wait_for,
    wizard,
    wizard_app,
)

pytestmark = pytest.mark.xdist_group("wizard")


async def choose_copy(pilot, target: str):  # noqa: ANN001, ANN201
    screen = wizard(pilot.app)
    screen.query_one("#choose-copy").value = True
    field = screen.query_one("#choose-target")
    field.value = target
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: screen.state.prepared is not None or screen.state.prepare_error is not None
    )
    await pilot.pause()
    return screen


async def test_demo_wizard_copies_on_one_filesystem_keeps_the_old_copy_and_x_removes_it(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    target = box.second_volume / "OMERO"
    before = listing(box.data_dir)
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        screen = await choose_copy(pilot, str(target))
        plan = screen.state.prepared.plan
        assert plan.method == "copy" and "a copy was asked for" in plan.method_why
        assert screen.state.prepared.preflight.ok, screen.state.prepared.preflight.failures
        await confirm_and_run(pilot, word=str(target))
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        assert screen.state.step_state("copy") == "done"
        assert screen.state.step_state("verify") == "done"
        assert "The old copy is kept at" in text_of(app, "#done-next")
        notes = " ".join(text_of(app, "#done-notes").split())
        assert "The previous config.xml is kept as " in notes
        backups = list(box.config_path.parent.glob("config.xml.bak-*"))
        assert len(backups) == 1 and str(backups[0]) in notes
        assert f"The server runs on {target}" in notes
        config = text_of(app, "#done-config")  # the config page has passed: still here
        assert "config.xml, before → after" in config and str(target) in config
        assert listing(box.data_dir) == before  # the fallback, untouched
        assert listing(target) == before
        assert data_dir_in_config(box) == str(target)
        # The commands the Done page names, whole on their own lines, and copied by y.
        shown = [line.strip() for line in text_of(app, "#done-next").splitlines()]
        assert "omero-tui relocate --remove-source" in shown
        await pilot.press("y")
        copied = app.clipboard.splitlines()
        assert copied[0] == "omero-tui relocate --remove-source"
        assert "omero fs repos" in copied  # quoted in the text: copied too
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"delete")
        await pilot.click("#confirm-yes")
        await until_finished(pilot)
        assert screen.state.result.outcome == "source removed", screen.state.result
        said = text_of(app, "#done-status")
        assert "entries deleted after re-verifying" in said and "the other" in said
    assert not box.data_dir.exists()
    assert listing(target) == before


async def test_a_copy_on_one_filesystem_is_cancelled_and_rolled_back_with_a_paused_engine(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    state = tmp_path / "state"
    target = box.second_volume / "OMERO"
    before = listing(box.data_dir)
    source, reached, release = paused_engine(
        EngineOptions(state_dir=state, env=session.env, **FAST)
    )
    app = wizard_app(box, state, session.env, source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await choose_copy(pilot, str(target))
        screen = await confirm_and_run(pilot, word=str(target))
        await cancel_mid_copy(pilot, screen, reached, release)
        assert screen.page == "problem" and screen.problem[2] is True  # cancelled
        assert data_dir_in_config(box) == str(box.data_dir)
        assert find_unfinished_relocation(state) is not None
        assert screen.check_action("rollback", ()) is True
        await pilot.press("u")
        await pilot.pause()
        if app.screen is not screen:  # rolling back asks first
            await pilot.click("#confirm-yes")
        await until_finished(pilot)
        assert screen.state.result.outcome == "rolled back", screen.state.result
    assert listing(box.data_dir) == before
    assert not target.exists()
    assert find_unfinished_relocation(state) is None


async def test_the_browser_opens_beside_the_repository_not_inside_it(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, DirectoryPicker))
        picker = app.screen
        assert Path(picker.current) == box.root
        assert not Path(picker.current).is_relative_to(box.data_dir)
