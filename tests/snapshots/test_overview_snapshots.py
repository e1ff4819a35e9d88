"""SVG snapshots of the Overview (the console's home) and of the help screen.

The health report is the frozen one of ``tests.overviewkit`` (one warning, fixed clock),
so the picture is the same on every machine.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from omero_tui.core.record import replace
from tests.appkit import demo_app, settle, state_dir_of
from tests.overviewkit import frozen_health

pytestmark = pytest.mark.xdist_group("snapshots")
SIZES = [(80, 24), (120, 36)]
IDS = ["80x24", "120x36"]


def overview_app(sandbox):  # noqa: ANN001, ANN201
    app = demo_app(sandbox, panel="tab-overview")
    app.sources = replace(app.sources, health=frozen_health(state_dir_of(sandbox)))
    return app


async def warning_row(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("down")  # the Disk usage row: its findings below
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_overview(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    assert snap_compare(overview_app(snapshot_sandbox), terminal_size=size, run_before=warning_row)


async def open_help(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("4", "question_mark")
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_help_for_lock_health(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    app = overview_app(snapshot_sandbox)
    assert snap_compare(app, terminal_size=size, run_before=open_help)
