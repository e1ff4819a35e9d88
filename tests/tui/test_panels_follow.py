"""Every panel and the Overview follow every change, without `r` (#14, item 1).

The real engine moves the demo repository with the stand-in server of a DemoSession
running; the panels are the console's own, built before the move.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import DataTable

from omero_tui.core.demo.session import DemoSession
from omero_tui.tui.changes import STALE
from omero_tui.tui.screens.perms_user_picker import PermsUserPicker
from tests.appkit import demo_app, settle, state_dir_of, text_of
from tests.wizardkit import (
    choose,
    confirm_and_run,
    open_wizard,
    until_finished,
    wait_for,
    wizard_app,
)

pytestmark = pytest.mark.xdist_group("wizard")

PANEL_KEYS = ("2", "3", "4", "5", "1")


def old_path_shown(text: str, old: str) -> bool:
    """``old`` as a path of its own (``.../OMERO`` is not ``.../OMERO.server``)."""
    return re.search(re.escape(old) + r"(?![\w.-])", text) is not None


def screen_text(app) -> str:  # noqa: ANN001
    return "\n".join(
        text_of(app, f"#{w.id}") for w in app.screen.query("Static") if w.id and w.display
    )


async def all_settled(pilot, app) -> None:  # noqa: ANN001
    """Every panel has its fresh report (nothing dimmed as stale any more)."""
    await wait_for(pilot, lambda: not app.screen_stack[0].query(f".{STALE}"), timeout=60)
    await settle(pilot)


async def test_after_the_wizard_every_panel_shows_only_the_new_location(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    old, new = str(box.data_dir), str(box.second_volume / "OMERO")
    app = wizard_app(box, state_dir_of(box), session.env, panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in PANEL_KEYS:  # every panel built, and showing the old location
            await pilot.press(key)
            await settle(pilot)
        await pilot.press("3", "s")  # a scan of the old location, on record
        usage = app.screen.query_one("#usage-panel")
        await wait_for(pilot, lambda: usage.report is not None and not usage.scanning)
        assert usage.report.scan.data_dir == old
        await pilot.press("1")
        await settle(pilot)

        await open_wizard(pilot)
        screen = await choose(pilot, new)
        await confirm_and_run(pilot)
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        await pilot.press("escape")
        await all_settled(pilot, app)

        panels = app.screen_stack[0]
        assert panels.query_one("#overview-panel").report.data_dir == new
        assert panels.query_one("#layout-panel").report.location.data_dir.value == new
        assert panels.query_one("#usage-panel").report is None  # no scan of the new place
        assert not panels.query_one("#usage-table", DataTable).row_count
        locks = panels.query_one("#locks-panel").report
        assert locks.directories[0].path == new
        perms = panels.query_one("#perms-panel").report
        assert all(not r.path.startswith(old + "/") for r in perms.rows)
        assert any(r.path == new for r in perms.rows)
        for key in PANEL_KEYS:  # what the admin sees, panel by panel, without `r`
            await pilot.press(key)
            await pilot.pause()
            shown = screen_text(app)
            if key == "1":  # the relocation row names the kept old copy: its only mention
                shown = shown.replace(f"old copy is kept at {old}", "")
            assert not old_path_shown(shown, old), f"panel {key} still shows {old}:\n{shown}"
            if key in ("2", "3"):
                assert new in shown, f"panel {key} does not show {new}"


async def test_a_user_picked_on_permissions_is_the_overview_s_user_too(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox, panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        overview = app.screen.query_one("#overview-panel")
        await pilot.press("5")
        await settle(pilot)
        perms = app.screen.query_one("#perms-panel")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, PermsUserPicker))
        app.screen.dismiss("nobody")
        await all_settled(pilot, app)
        assert perms.report.user.name == "nobody"
        area = next(a for a in overview.report.areas if a.area == "permissions")
        assert "nobody" in area.note
        # A Permissions panel built after the pick judges the same user.
        assert app.perms_user == "nobody"


async def test_a_scan_is_news_for_the_overview_at_once(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox, panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        overview = app.screen.query_one("#overview-panel")
        usage_row = next(a for a in overview.report.areas if a.area == "usage")
        assert "scan" in usage_row.headline.lower()  # none on record yet
        await pilot.press("3", "s")
        usage = app.screen.query_one("#usage-panel")
        await wait_for(pilot, lambda: usage.report is not None and not usage.scanning)
        await all_settled(pilot, app)
        after = next(a for a in overview.report.areas if a.area == "usage")
        assert after.headline != usage_row.headline
