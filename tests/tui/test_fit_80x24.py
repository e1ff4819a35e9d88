"""At 80x24 nothing that matters is cut (#14, item 9): asserted on the rendered screen.

Text that does not fit is wrapped between words, never cut mid-word or mid-path;
footers fit by dropping their least useful keys; a command shown is copied whole by `y`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.tui.widgets.locks_panel import LocksPanel, ms_figure
from omero_tui.tui.widgets.overview_panel import OverviewPanel
from omero_tui.tui.widgets.perms_panel import PermsPanel
from tests.appkit import demo_app, settle
from tests.screenkit import footer_fits, footer_keys, screen_lines
from tests.wizardkit import interrupted_journal, open_wizard, wait_for, wizard, wizard_app

SIZE = (80, 24)


def words(text: str) -> str:
    return " ".join(text.split())


def column_text(app, table: str, header: str) -> str:  # noqa: ANN001
    """What the table draws under ``header``, from that column on, as one line of words:
    a cell wrapped between words reads as the whole text again."""
    region = app.screen.query_one(table, DataTable).region
    lines = screen_lines(app)[region.y : region.bottom]
    start = lines[0].index(header)
    return words(" ".join(line[start : region.right] for line in lines[1:]))


@pytest.fixture
def short_root() -> Iterator[DemoSandbox]:
    """A sandbox whose paths fit one line (a pytest temp path alone is 80 characters)."""
    root = Path(tempfile.mkdtemp(prefix="otui-"))
    try:
        yield build_demo(root / "demo")
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_footers_fit_80_columns_and_keep_help_and_each_panels_keys(
    demo_sandbox: DemoSandbox,
) -> None:
    app = demo_app(demo_sandbox, panel="tab-overview")
    expected = {
        "1": ["? Help"],
        "2": ["? Help"],
        "3": ["s Scan", "u Rescan", "o Sort", "e Export", "? Help"],
        "4": ["p Probe locks", "? Help"],
        "5": ["u User…", "d Deep check", "D Deep here", "f Fix…", "z Undo fix…", "? Help"],
        "6": ["h Verify checksums", "? Help"],
    }
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, wanted in expected.items():
            await pilot.press(key)
            await settle(pilot)
            await pilot.pause(0.2)
            shown = footer_keys(app)
            assert footer_fits(app), (key, shown)
            for item in wanted:
                assert item in shown, (key, shown)
            assert screen_lines(app)[-1].rstrip().endswith("? Help") or "^p palette" in shown
        await open_wizard(pilot)  # its text box has the keys: "?" is text there
        assert footer_fits(app) and "esc Close" in footer_keys(app), footer_keys(app)


async def test_overview_wraps_what_matters_most_whole(demo_sandbox: DemoSandbox) -> None:
    app = demo_app(demo_sandbox, panel="tab-overview")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(OverviewPanel)
        await wait_for(pilot, lambda: panel.report is not None and not panel.refreshing)
        await pilot.pause(0.2)
        shown = column_text(app, "#overview-areas", "What matters most")
        assert "…" not in shown
        for area in panel.report.areas:
            assert words(area.headline) in shown, (area.area, shown)


async def test_layout_wraps_holds_and_never_cuts_a_path(short_root: DemoSandbox) -> None:
    demo_sandbox = short_root
    app = demo_app(demo_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lines = screen_lines(app)
        for path in (demo_sandbox.server_dir, demo_sandbox.data_dir):
            assert any(str(path) in line for line in lines), path  # on one line, whole
        shown = column_text(app, "#layout-entries", "Holds")
        assert "…" not in shown
        for holds in ("the binary repository (omero.data.dir)", "pixel data and pyramids"):
            assert holds in shown


async def test_lock_health_after_a_probe_shows_every_figure_whole(
    demo_sandbox: DemoSandbox,
) -> None:
    app = demo_app(demo_sandbox, panel="tab-locks")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LocksPanel)
        await pilot.press("p")  # the real two-process probe, in every directory
        await wait_for(pilot, lambda: panel.report is not None and panel.report.probed, 60)
        await settle(pilot)
        table = app.screen.query_one("#locks-dirs", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no h-scroll
        lines = screen_lines(app)
        for row in panel.report.directories:
            line = next(ln for ln in lines if f" {row.name} " in ln or ln.startswith(row.name))
            figure = ms_figure(row.probe.write.ms)
            assert line.rstrip().endswith(f"✓ {figure}"), line


async def test_permissions_fix_commands_sit_whole_on_their_lines_and_y_copies_them(
    demo_sandbox: DemoSandbox,
) -> None:
    app = demo_app(demo_sandbox, panel="tab-perms")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")  # a user who cannot enter the test's private temp dir
        await pilot.pause()
        await pilot.press(*"nobody", "enter")
        await settle(pilot)
        panel = app.screen.query_one(PermsPanel)
        commands = [step.command for step in panel.plan.steps]
        assert commands, "nobody should need a fix here"
        assert "y Copy fix" in footer_keys(app) and footer_fits(app)
        plan = app.screen.query_one("#perms-plan", Static)
        panel.scroll_to_widget(plan, animate=False, top=True)
        await pilot.pause()
        shown = [line.strip() for line in screen_lines(app)]
        for command in commands:
            assert command in shown or len(command) > 76, command  # one line of its own
        await pilot.press("y")
        assert app.clipboard == "\n".join(commands) + "\n"


async def test_the_problem_page_puts_each_command_on_its_own_line_and_y_copies_them(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    interrupted_journal(state, demo_sandbox.root)
    app = wizard_app(demo_sandbox, state, {})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        await pilot.press("l")  # the resume prompt: look first
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RelocationWizard")
        screen = wizard(app)
        await wait_for(pilot, lambda: screen.page == "problem")
        await pilot.pause()
        screen.query_one("#page-problem").scroll_end(animate=False)
        await pilot.pause()
        shown = [line.strip() for line in screen_lines(app)]
        wanted = ["omero-tui relocate --resume", "omero-tui relocate --rollback"]
        for command in wanted:
            assert command in shown, shown
        assert "y Copy commands" in footer_keys(app) and footer_fits(app), footer_keys(app)
        await pilot.press("y")
        assert app.clipboard == "\n".join(wanted) + "\n"
