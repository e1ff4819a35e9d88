"""Pilot tests: the Disk usage panel on the demo sandbox, driven by keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Sparkline

from omero_tui.core.demo.sandbox import build_demo
from omero_tui.core.discovery import discover
from omero_tui.core.usage.cache import load_scan
from omero_tui.core.usage.format import human_bytes
from omero_tui.core.usage.model import ScanCancelled, UsageProgress
from omero_tui.core.usage.service import UsageService, UsageSource
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.usage_panel import UsagePanel
from tests.appkit import settle, text_of
from tests.bench.usage_tree import gnu_du


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory):  # noqa: ANN001, ANN201
    """One sandbox for the tests that only read it (building one takes a second)."""
    return build_demo(tmp_path_factory.mktemp("usage-demo") / "demo")


STYLES = Path(__file__).resolve().parents[2] / "omero_tui/tui/widgets/usage_panel.tcss"


class UsageApp(App[None]):
    """The panel alone, as the console will hold it in a tab."""

    CSS_PATH = [STYLES]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield UsagePanel(self.sources)
        yield Footer()


def sources_for(sandbox, state: Path, **usage) -> ConsoleSources:  # noqa: ANN001, ANN003
    server_dir = str(sandbox.server_dir)
    return ConsoleSources(
        locate=lambda: discover(server_dir_arg=server_dir, env={}, candidates=[], demo=True),
        usage=UsageSource(state_dir=state, **usage),
    )


def table_rows(app: App) -> list[list[str]]:
    table = app.screen.query_one("#usage-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def names(app: App) -> list[str]:
    return [row[0] for row in table_rows(app)]


async def test_no_scan_on_start_then_a_scan_shows_du_figures(shared_demo, tmp_path) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(shared_demo, tmp_path / "state"))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(UsagePanel)
        assert panel.report is None and not panel.service.pool._procs  # nothing scanned
        assert "No scan on record" in text_of(app, "#usage-verdict")
        await pilot.press("s")
        await settle(pilot)
        assert panel.report is not None
        data = shared_demo.data_dir
        assert panel.report.scan.totals.allocated_bytes == gnu_du(data)[0]
        rows = {row[0]: row for row in table_rows(app)}
        assert rows["Pixels/"][1] == human_bytes(gnu_du(data / "Pixels")[0])
        assert names(app)[0] == "ManagedRepository/"  # largest first
        assert "Full scan" in text_of(app, "#usage-scan")
        assert "OK" in text_of(app, "#usage-verdict")
        # One scan on record: the trend shows what the files added month by month.
        trend = app.screen.query_one("#usage-trend", Sparkline)
        assert trend.display and len(trend.data) == 12
        assert str(trend.tooltip).startswith("bytes added by month")


async def test_last_scan_shows_at_start_with_its_age_without_scanning(
    demo_sandbox, tmp_path
) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    with UsageService(state) as service:
        location = discover(server_dir_arg=str(demo_sandbox.server_dir), env={}, candidates=[])
        first = service.scan(location)
    (demo_sandbox.data_dir / "Files" / "after-the-scan").write_bytes(b"x" * 500_000)
    later = first.scan.finished_at + 3 * 3600
    app = UsageApp(sources_for(demo_sandbox, state, now=lambda: later))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(UsagePanel)
        assert panel.report is not None and not panel.service.pool._procs
        assert panel.report.scan.totals == first.scan.totals  # the new file is not seen
        assert "(3 h ago)" in text_of(app, "#usage-scan")


async def test_drill_down_and_back(shared_demo, tmp_path) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(shared_demo, tmp_path / "state", workers=0))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        table = app.screen.query_one("#usage-table", DataTable)
        table.focus()
        await pilot.press("enter")  # into ManagedRepository, the largest
        await settle(pilot)
        managed = shared_demo.data_dir / "ManagedRepository"
        assert str(managed) in text_of(app, "#usage-where")
        users = [n for n in names(app) if n.startswith("user-")]
        sizes = [gnu_du(managed / n.rstrip("/"))[0] for n in users]
        assert sizes == sorted(sizes, reverse=True) and len(users) == 2
        await pilot.press("enter")  # into the largest user's directory
        await pilot.press("enter")  # a month
        await pilot.press("enter")  # a day: filesets and their import logs
        await settle(pilot)
        assert any(n.endswith(".log") for n in names(app)), names(app)
        for _ in range(3):
            await pilot.press("backspace")
        await settle(pilot)
        assert str(managed) in text_of(app, "#usage-where")
        await pilot.press("escape")
        await settle(pilot)
        assert names(app)[table.cursor_row] == "ManagedRepository/"  # back where we were


async def test_sort_cycles_size_name_files(shared_demo, tmp_path) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(shared_demo, tmp_path / "state", workers=0))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("o")
        assert names(app) == sorted(names(app), key=str.lower)
        await pilot.press("o")
        files = [int(row[4].replace(",", "")) for row in table_rows(app)]
        assert files == sorted(files, reverse=True)


class BlockingService(UsageService):
    """A scan that reports progress, then waits until it is cancelled."""

    def scan(self, location, *, quick=False, export=None, progress=None, cancel=None):  # noqa: ANN001, ANN201
        assert progress is not None and cancel is not None
        progress(UsageProgress(12_345, 321, 5 << 30, 2.5, 4938.0, 27_000, quick, files=12_000))
        cancel.wait(30)
        raise ScanCancelled()


async def test_scan_shows_progress_stays_responsive_and_cancels(shared_demo, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    with UsageService(state, workers=0) as service:
        service.scan(discover(server_dir_arg=str(shared_demo.server_dir), env={}, candidates=[]))
    app = UsageApp(sources_for(shared_demo, state, make=BlockingService))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        before = names(app)
        await pilot.press("s")
        for _ in range(50):
            await pilot.pause(0.02)
            if "Scanning" in text_of(app, "#usage-scan"):
                break
        status = text_of(app, "#usage-scan")
        assert "Scanning… 46%" in status and "12,000 files" in status and "5.0 GiB" in status
        # 4,800 files a second, and the rest of the last scan's 27,000 entries in 3 s.
        assert "4,800 files/s" in status and "ETA 0:03" in status
        await pilot.press("o")  # the console answers while the scan runs
        assert names(app) == sorted(before, key=str.lower)
        await pilot.press("c")
        await settle(pilot)
        assert "Scan cancelled" in text_of(app, "#usage-scan")
        assert app.screen.query_one(UsagePanel).report is not None  # the last scan stands


async def test_quick_rescan_says_what_it_reused(demo_sandbox, tmp_path) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(demo_sandbox, tmp_path / "state"))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        (demo_sandbox.data_dir / "Files" / "fresh").write_bytes(b"f" * 100_000)
        await pilot.press("u")
        await settle(pilot)
        status = text_of(app, "#usage-scan")
        assert "Quick rescan" in status and "unchanged since" in status
        rows = {row[0]: row for row in table_rows(app)}
        assert rows["Pixels/"][1].startswith("≈") and not rows["Files/"][1].startswith("≈")
        assert (
            app.screen.query_one(UsagePanel).report.scan.totals.allocated_bytes
            == gnu_du(demo_sandbox.data_dir)[0]
        )


async def test_worker_processes_end_with_the_console(shared_demo, tmp_path) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(shared_demo, tmp_path / "state", workers=2, inline=0))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        procs = [w.process for w in app.screen.query_one(UsagePanel).service.pool._procs]
        assert len(procs) == 2 and all(p.poll() is None for p in procs)
    assert all(p.poll() is not None for p in procs)
    assert load_scan(tmp_path / "state", str(shared_demo.data_dir)) is not None


@pytest.mark.parametrize("size", [(80, 24)])
async def test_fits_80_columns(shared_demo, tmp_path, size) -> None:  # noqa: ANN001
    app = UsageApp(sources_for(shared_demo, tmp_path / "state", workers=0))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        table = app.screen.query_one("#usage-table", DataTable)
        assert table.virtual_size.width <= table.size.width
        assert table.size.height >= 5
