"""The Database panel: a real check in a worker (pilot) and its snapshots (fixed report)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from omero_tui.core.record import replace
from omero_tui.tui.app import OmeroTuiApp
from tests.appkit import demo_sources, settle, text_of
from tests.database.conftest import DemoDb
from tests.database.reports import fixed_report


def _app(sandbox, check=None) -> OmeroTuiApp:  # noqa: ANN001
    sources = demo_sources(sandbox)
    if check is not None:
        sources = replace(sources, check_database=check)
    return OmeroTuiApp(sources, initial_panel="tab-database")


async def test_real_check_shows_the_demo_faults_and_drills_down(demo_db: DemoDb) -> None:
    app = _app(demo_db.sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#database-panel")
        assert panel.report is not None, panel.error
        assert "CRITICAL" in text_of(app, "#database-status")
        issues = app.screen.query_one("#database-issues", DataTable)
        assert issues.row_count == len(demo_db.faults.missing) + len(demo_db.faults.orphans)
        users = app.screen.query_one("#database-users", DataTable)
        users.focus()
        await pilot.press("enter")  # the first user (most bytes): user-2
        await pilot.pause()
        assert issues.row_count == 1
        assert "lost_scan.czi" in str(issues.get_row_at(0)[3])
        areas = app.screen.query_one("#database-areas", DataTable)
        areas.focus()
        areas.move_cursor(row=1)
        await pilot.press("enter")  # Files
        await pilot.pause()
        assert issues.row_count == 2  # its missing row and its orphan


async def test_unreachable_database_is_one_line(demo_sandbox, tmp_path) -> None:  # noqa: ANN001
    from omero_tui.core.config.xml_file import write_config

    # A socket dir where no PostgreSQL listens: the server is unreachable, say why.
    write_config(demo_sandbox.config_path, {"omero.db.host": str(tmp_path)}, env={})
    app = _app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = text_of(app, "#database-status")
        assert "Not checked: cannot reach OMERO's database" in status
        assert "omero.db.host" in status


@pytest.mark.xdist_group("snapshots")
@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_database_panel(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    app = _app(snapshot_sandbox, check=lambda location, **_: fixed_report(location))
    assert snap_compare(app, terminal_size=size, run_before=settle)
