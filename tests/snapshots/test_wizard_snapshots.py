"""SVG snapshots of every wizard step, the problem page and the resume prompt.

Plain ``def``: snap_compare runs its own event loop. The relocation is the frozen one
of ``wizard_script`` (same figures on every machine); the sandbox sits at a fixed path
because the pages show paths.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.tui.screens.resume_prompt import ResumePrompt
from tests.conftest import fixed_path_held
from tests.snapshots.wizard_script import (
    TARGET,
    ScriptedEngine,
    frozen_source,
    interrupted,
)
from tests.wizardkit import open_wizard, wait_for, wizard, wizard_app

pytestmark = pytest.mark.xdist_group("snapshots")

ROOT = Path("/tmp/omero-tui-wizard-snapshot")
SIZES = [(80, 24), (120, 36)]
IDS = ["80x24", "120x36"]


@pytest.fixture(scope="module")
def built() -> Iterator[DemoSandbox]:
    with fixed_path_held(ROOT):
        shutil.rmtree(ROOT, ignore_errors=True)
        yield build_demo(ROOT / "demo")
        shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture
def sandbox(built: DemoSandbox) -> Iterator[DemoSandbox]:
    """The module's sandbox; the scripted run only rewrites config.xml, put back after."""
    config = built.config_path.read_bytes()
    yield built
    built.config_path.write_bytes(config)
    for leftover in built.config_path.parent.glob("config.xml.bak-*"):
        leftover.unlink()
    shutil.rmtree(ROOT / "state", ignore_errors=True)


def make_app(sandbox: DemoSandbox, hold: str | None, status_box: list):  # noqa: ANN201
    engine = ScriptedEngine(sandbox.config_path, hold)
    source = frozen_source(engine, ROOT / "state", status_box)
    return wizard_app(sandbox, ROOT / "state", {}, source=source), engine


def type_into(field: Input, text: str) -> None:
    """As if typed, without a key press per character (each costs a frame)."""
    # A blinking cursor is drawn or not depending on when the frame is taken (a slow,
    # loaded run caught it off): steady, it is always drawn in the focused field.
    field.cursor_blink = False
    field.value = text
    field.cursor_position = len(text)


async def to_choose(pilot: Pilot) -> None:
    await open_wizard(pilot)
    screen = wizard(pilot.app)
    type_into(screen.query_one("#choose-target"), TARGET)
    await wait_for(pilot, lambda: "812 GiB" in str(screen.query_one("#choose-info").content))


async def to_preflight(pilot: Pilot) -> None:
    await to_choose(pilot)
    await pilot.press("enter")
    screen = wizard(pilot.app)
    await wait_for(pilot, lambda: screen.state.prepared is not None)
    await pilot.pause()


async def to_plan(pilot: Pilot) -> None:
    await to_preflight(pilot)
    await pilot.press("n")
    await pilot.pause()


async def to_confirm(pilot: Pilot) -> None:
    await to_plan(pilot)
    await pilot.press("n")
    type_into(wizard(pilot.app).query_one("#confirm-typed"), "relocate")
    await pilot.pause()


def run_to(page: str):  # noqa: ANN201
    """A run_before that confirms, then waits until the script holds at ``page``."""

    async def run_before(pilot: Pilot) -> None:
        await to_confirm(pilot)
        screen = wizard(pilot.app)
        status_box = pilot.app.status_box
        status_box.append(interrupted(screen.state.prepared.plan.to_json()))
        await pilot.press("enter")
        if page in ("done", "problem"):
            await wait_for(pilot, lambda: screen.state.result is not None)
            await wait_for(pilot, lambda: screen.page == page)
        else:
            await wait_for(pilot, pilot.app.engine.held.is_set)
            await wait_for(pilot, lambda: screen.page == page)
        await pilot.pause(0.1)

    return run_before


STEPS = {
    "choose": (None, to_choose),
    "preflight": (None, to_preflight),
    "plan": (None, to_plan),
    "confirm": (None, to_confirm),
    "stop": ("stop", run_to("stop")),
    "move": ("move", run_to("move")),
    "config": ("config", run_to("config")),
    "start": ("start", run_to("start")),
    "done": (None, run_to("done")),
    "problem": ("problem", run_to("problem")),
}


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("step", list(STEPS))
def test_wizard_step(snap_compare, sandbox, step: str, size) -> None:  # noqa: ANN001
    hold, run_before = STEPS[step]
    status_box: list = []
    app, engine = make_app(sandbox, hold, status_box)
    app.status_box, app.engine = status_box, engine
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_resume_prompt_at_start_up(snap_compare, sandbox, size) -> None:  # noqa: ANN001
    status_box: list = []
    app, engine = make_app(sandbox, None, status_box)

    async def run_before(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResumePrompt))
        await pilot.pause(0.1)

    # The interrupted journal of a copy to the frozen target, as the engine would leave it.
    from omero_tui.core.discovery import discover
    from omero_tui.core.relocation.engine import EngineOptions
    from tests.snapshots.wizard_script import frozen_prepare

    location = discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[])
    prepared = frozen_prepare(location, TARGET, options=EngineOptions(state_dir=ROOT / "state"))
    status_box.append(interrupted(prepared.plan.to_json()))
    assert snap_compare(app, terminal_size=size, run_before=run_before)
