"""Pilot tests: the Overview, the console's home: cached first, refreshed, Enter opens."""

from __future__ import annotations

import os

from textual.widgets import DataTable, TabbedContent

from omero_tui.core.health.cache import save_health
from omero_tui.core.record import replace
from omero_tui.tui.screens.help_screen import HelpScreen
from omero_tui.tui.widgets.overview_panel import OverviewPanel
from tests.appkit import demo_app, settle, state_dir_of, text_of
from tests.overviewkit import NOW, frozen_health, frozen_report


def overview_app(sandbox, report=None):  # noqa: ANN001, ANN201
    app = demo_app(sandbox, panel="tab-overview")
    health = frozen_health(state_dir_of(sandbox), report)
    app.sources = replace(app.sources, health=health)
    return app


async def test_real_check_of_the_demo_is_all_ok_and_cached_for_next_time(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox, panel="tab-overview")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(OverviewPanel)
        assert panel.report is not None and not panel.cached
        verdicts = [a.severity.label for a in panel.report.areas]
        # The demo was opened without its database (no cluster of its own runs here):
        # the database area says so (UNKNOWN with the reason), every other area is OK.
        assert verdicts == ["ok"] * 6 + ["unknown"], [a.headline for a in panel.report.areas]
        assert panel.report.areas[-1].headline.startswith("Not checked: the demo")
        table = app.screen.query_one("#overview-areas", DataTable)
        assert table.row_count == 7
        status = text_of(app, "#overview-status")
        assert "UNKNOWN" in status.upper(), status
    cached = app.sources.health.cached(app.sources.locate())
    assert cached is not None and [a.area for a in cached.areas] == [
        a.area for a in panel.report.areas
    ]


async def test_the_last_check_on_record_shows_first_with_its_age(demo_sandbox) -> None:  # noqa: ANN001
    state = state_dir_of(demo_sandbox)
    old = frozen_report(checked_at=NOW - 3 * 3600)
    old = replace(old, data_dir=str(demo_sandbox.data_dir))
    save_health(old, state)
    gate = []

    def slow_run(location, **_):  # noqa: ANN001, ANN003, ANN202
        while not gate:  # the refresh waits until the cached answer has been seen
            os.sched_yield()
        return frozen_report(checked_at=NOW)

    app = demo_app(demo_sandbox, panel="tab-overview")
    health = replace(frozen_health(state), run=slow_run)
    app.sources = replace(app.sources, health=health)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one(OverviewPanel)
        for _ in range(100):
            await pilot.pause(0.02)
            if panel.report is not None:
                break
        assert panel.cached
        status = text_of(app, "#overview-status")
        assert "checked 3 h ago (last check on record)" in status
        assert "re-checking" in status
        gate.append(True)
        await settle(pilot)
        assert not panel.cached
        assert "checked 2 min ago" not in text_of(app, "#overview-status")
        assert "checked just now" in text_of(app, "#overview-status")


async def test_enter_on_an_area_opens_its_panel(demo_sandbox) -> None:  # noqa: ANN001
    app = overview_app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # Disk usage
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "tab-usage"
        await pilot.press("1", "down", "down", "down", "enter")  # Permissions
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "tab-perms"


async def test_the_worst_area_is_the_headline_and_details_list_findings(demo_sandbox) -> None:  # noqa: ANN001
    app = overview_app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "! WARNING" in text_of(app, "#overview-status")
        await pilot.press("down")
        detail = text_of(app, "#overview-detail")
        assert "Disk usage" in detail and "full in 41 days" in detail


async def test_help_opens_for_the_visible_panel_and_closes(demo_sandbox) -> None:  # noqa: ANN001
    app = overview_app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.where == "tab-locks"
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # closes help, does not quit
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.is_running


async def test_theme_switch_is_saved_in_the_settings_file(demo_sandbox, tmp_path) -> None:  # noqa: ANN001
    settings = tmp_path / "settings.toml"
    settings.write_text('# mine\n[server]\nuser = "omero-server"  # keep me\n')
    app = overview_app(demo_sandbox)
    app.sources = replace(app.sources, settings_path=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        app.action_toggle_theme()
        await pilot.pause()
        assert app.theme == "textual-light"
    text = settings.read_text()
    assert 'theme = "light"' in text and "# keep me" in text and text.startswith("# mine")
    again = overview_app(demo_sandbox)
    again.sources = replace(again.sources, settings_path=settings)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "textual-light"


async def test_no_color_is_honoured(demo_sandbox, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NO_COLOR", "1")
    app = overview_app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.no_color


async def test_an_indeterminate_bar_sends_no_frames_over_a_slow_link(demo_sandbox) -> None:  # noqa: ANN001
    """Two screenshots a second apart with a progress bar that has no total on screen
    (a scan or a preflight without an estimate): nothing moves, so nothing is sent."""
    from textual.widgets import ProgressBar

    app = overview_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = ProgressBar(total=None, id="probe-bar")
        await app.screen.mount(bar)
        await pilot.pause(0.2)
        first = app.export_screenshot()
        await pilot.pause(1.0)
        assert app.export_screenshot() == first
