"""Driving the relocation wizard in the demo sandbox, for pilot and snapshot tests."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from omero_tui.core.config.xml_file import read_config
from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.engine import EngineOptions, run_relocation
from omero_tui.core.relocation.journal import Journal
from omero_tui.core.relocation.plan import build_plan
from omero_tui.core.relocation.target_trust import RAM_CONFIRMATION
from omero_tui.tui.app import OmeroTuiApp
from omero_tui.tui.wizard.source import WizardSource
from omero_tui.tui.wizard.step_confirm import ConfirmPage
from omero_tui.tui.wizard.wizard_screen import RelocationWizard
from tests.appkit import demo_sources
from tests.core.relocation.helpers import cli

FAST = {"stop_timeout_s": 20.0, "start_timeout_s": 30.0, "start_settle_s": 0.3}


def wizard_app(
    sandbox: DemoSandbox,
    state: Path,
    env: dict[str, str],
    *,
    source: WizardSource | None = None,
    panel: str = "tab-layout",
) -> OmeroTuiApp:
    """The console on the sandbox, with the wizard acting through ``source``."""
    options = EngineOptions(state_dir=state, env=env, **FAST)
    sources = demo_sources(sandbox)
    server_dir = str(sandbox.server_dir)
    sources = type(sources)(
        **{
            **sources.__dict__,
            "locate": lambda: discover(server_dir_arg=server_dir, env={}, candidates=[]),
            "wizard": source or WizardSource(options=options),
        }
    )
    return OmeroTuiApp(sources, initial_panel=panel)


def wizard(app: OmeroTuiApp) -> RelocationWizard:
    screen = app.screen
    assert isinstance(screen, RelocationWizard), f"on {type(screen).__name__}, not the wizard"
    return screen


async def wait_for(pilot: Pilot, done: Callable[[], bool], timeout: float = 60.0) -> None:
    waited = 0.0
    while not done():
        if waited > timeout:
            raise AssertionError("timed out waiting in the wizard")
        await pilot.pause(0.05)
        waited += 0.05


async def open_wizard(pilot: Pilot) -> RelocationWizard:
    await pilot.press("w")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RelocationWizard))
    screen = wizard(pilot.app)
    await wait_for(pilot, lambda: screen.location is not None)
    await pilot.pause()
    return screen


async def choose(pilot: Pilot, target: str, *, managed: bool = False) -> RelocationWizard:
    screen = wizard(pilot.app)
    if managed:
        screen.query_one("#what-managed").value = True
    field = screen.query_one("#choose-target")
    field.value = target
    field.cursor_position = len(target)
    await pilot.pause(0.3)  # the target is described once typing pauses
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: screen.state.prepared is not None or screen.state.prepare_error is not None
    )
    await pilot.pause()
    return screen


async def confirm_and_run(pilot: Pilot, word: str = "relocate") -> RelocationWizard:
    screen = wizard(pilot.app)
    await pilot.press("n")  # plan
    await pilot.press("n")  # confirm
    if screen.query_one(ConfirmPage).in_ram:  # a tmpfs target: the explicit words
        word = RAM_CONFIRMATION
    await pilot.press(*word)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.state.running is not None or screen.page == "problem")
    return screen


async def until_finished(pilot: Pilot, timeout: float = 90.0) -> RelocationWizard:
    screen = wizard(pilot.app)
    await wait_for(pilot, lambda: screen.state.running is None, timeout)
    await pilot.pause()
    return screen


def data_dir_in_config(sandbox: DemoSandbox) -> str:
    doc = read_config(sandbox.config_path)
    return doc.properties(doc.stored_profile).get("omero.data.dir", "")


def write_faults(sandbox: DemoSandbox, **faults: object) -> None:
    path = sandbox.server_dir / "var" / "demo-faults.json"
    path.write_text(json.dumps(faults))


# The server's own run-time lock files: it deletes them when it stops and makes them
# again when it starts, wherever the repository is then.
RUNTIME_FILES = (".lock",)


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mode) for every entry, hidden ones included."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name in RUNTIME_FILES:
                continue
            path = Path(dirpath) / name
            info = path.lstat()
            out[str(path.relative_to(root))] = (info.st_size if path.is_file() else 0, info.st_mode)
    return out


def paused_engine(options: EngineOptions) -> tuple[WizardSource, threading.Event, threading.Event]:
    """The real engine, whose progress callback holds the copy at its first report until
    the test lets it go: the cancel then arrives at a known instant."""
    reached, release = threading.Event(), threading.Event()

    def run(prepared, *, progress=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        def held(report):  # noqa: ANN001, ANN202
            if report.step == "copy" and not reached.is_set():
                reached.set()
                release.wait(30)
            if progress is not None:
                progress(report)

        return run_relocation(prepared, progress=held, **kwargs)

    return WizardSource(options=options, run=run), reached, release


def omero_tui(*args: str, xdg: Path, omerodir: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    env.update(XDG_STATE_HOME=str(xdg / "state"), XDG_CONFIG_HOME=str(xdg / "config"))
    if omerodir is not None:
        env["OMERODIR"] = str(omerodir)
    return cli(*args, env=env)


def interrupted_journal(state: Path, root: Path) -> str:
    """A relocation that stopped the server and was cancelled during its copy."""
    journal = Journal.create(state, "20261204T120000-demo")
    location = discover(server_dir_arg=str(root / "OMERO.server"), env={}, candidates=[])
    plan, _ = build_plan(location, str(root / "volume2" / "OMERO"))
    journal.append({"type": "begin", "id": "20261204T120000-demo", "plan": plan.to_json()})
    for step, how in (("stop", "started"), ("stop", "done"), ("copy", "started")):
        journal.append({"type": "step", "step": step, "state": how})
    journal.append({"type": "step", "step": "copy", "state": "failed", "detail": "Cancelled"})
    return "20261204T120000-demo"


def paused_wizard_app(
    session,
    state: Path,
    **kwargs: str,  # noqa: ANN001 - a DemoSession
) -> tuple[OmeroTuiApp, threading.Event, threading.Event]:
    """The console on the session's sandbox with a paused engine: (app, reached, release)."""
    options = EngineOptions(state_dir=state, env=session.env, **FAST)
    source, reached, release = paused_engine(options)
    return (
        wizard_app(session.sandbox, state, session.env, source=source, **kwargs),
        reached,
        release,
    )


async def cancel_mid_copy(
    pilot: Pilot, screen: RelocationWizard, reached: threading.Event, release: threading.Event
) -> None:
    """Cancel while the paused engine holds its copy (answering yes), then let it go on to
    its safe point and wait until it stopped there."""
    await wait_for(pilot, reached.is_set)
    await wait_for(pilot, lambda: screen.page == "move")
    await pilot.press("c")
    await pilot.pause()
    await pilot.click("#confirm-yes")
    release.set()
    await until_finished(pilot)
