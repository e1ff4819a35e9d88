"""Pilot tests: the Layout panel on the demo sandbox, driven by keys."""

from __future__ import annotations

import shutil

from textual.widgets import DataTable

from omero_tui.core.layout.inspection import STANDARD_SUBDIRS
from omero_tui.tui.widgets.layout_panel import LayoutPanel
from tests.appkit import demo_app, settle, text_of


def cell_texts(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def test_demo_layout_lists_everything_without_alarms(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LayoutPanel)
        assert panel.report is not None
        table = app.screen.query_one("#layout-entries", DataTable)
        names = [n.strip() for n in cell_texts(table, 0)]
        for name, _ in STANDARD_SUBDIRS:
            assert name in names
        assert set(cell_texts(table, 1)) == {"present"}
        findings = text_of(app, "#layout-findings")
        assert "No problems found" in findings
        identity = text_of(app, "#layout-where")
        for ident in panel.report.identities:
            assert ident.entries and ident.entries[0].repo_uuid in identity
        assert "DEMO" in text_of(app, "#title-bar")


async def test_cursor_shows_the_full_path_of_the_row(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#layout-entries", DataTable).focus()
        await pilot.press("down")
        assert str(demo_sandbox.data_dir / "Pixels") in text_of(app, "#layout-detail")


async def test_refresh_sees_a_removed_subdirectory(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        shutil.rmtree(demo_sandbox.data_dir / "Thumbnails")
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.query_one("#layout-entries", DataTable)
        states = dict(
            zip([n.strip() for n in cell_texts(table, 0)], cell_texts(table, 1), strict=True)
        )
        assert states["Thumbnails"] == "missing"
        assert "Thumbnails" in text_of(app, "#layout-findings")
        assert "WARNING" in text_of(app, "#layout-status")


async def test_data_dir_inside_server_dir_raises_nesting(demo_sandbox) -> None:  # noqa: ANN001
    inside = demo_sandbox.server_dir / "var" / "OMERO"
    inside.mkdir(parents=True)
    app = demo_app(demo_sandbox, data_dir=str(inside))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LayoutPanel)
        codes = {f.code for f in panel.report.findings}
        assert "layout.nested_server_dir" in codes
        assert "CRITICAL" in text_of(app, "#layout-status")
        assert "from --data-dir" in text_of(app, "#layout-where")


async def test_q_quits(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_config_sources_are_shown_with_the_line_and_the_template(demo_sandbox) -> None:  # noqa: ANN001
    # The role's layout: <OMERODIR's parent>/config/*.omero, reloaded at every start.
    config = demo_sandbox.root / "config"
    config.mkdir()
    omero_file = config / "00-omero-server.omero"
    omero_file.write_text(
        "# Ansible managed\nconfig drop default\nconfig set omero.data.dir /OMERO\n"
    )
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        sources = text_of(app, "#layout-sources")
        assert f"{omero_file}:3  omero.data.dir = /OMERO  [Ansible template" in sources
        assert f"{omero_file}:2  `config drop default`" in sources
        # config.xml names the sandbox's repository: the next start would not.
        assert "the next start sets omero.data.dir to /OMERO" in text_of(app, "#layout-findings")
        assert "WARNING" in text_of(app, "#layout-status")


async def test_no_config_sources_no_section(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#layout-sources").display
