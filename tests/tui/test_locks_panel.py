"""Pilot tests: the Lock health panel in a tiny app of its own, driven by keys."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, ProgressBar

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.locks.declared_mounts import DeclaredMounts
from omero_tui.core.locks.health import (
    LockHealthSource,
    inspect_locks,
    probe_report,
    remove_stale_locks,
)
from omero_tui.core.locks.probe import ProbeProgress
from omero_tui.core.record import replace
from omero_tui.core.server.for_location import StopCheck
from omero_tui.tui.app import WIDGET_STYLES
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.locks_panel import LocksPanel
from tests.appkit import settle, text_of

if TYPE_CHECKING:
    from omero_tui.core.locks.health import ProbeFunction  # a type only, as in the app
from tests.core.test_lock_probe import simulated_child

NOTHING_DECLARED = DeclaredMounts((), (), ())


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSandbox:
    """One sandbox for every test here: they only read it (the probe leaves nothing)."""
    return build_demo(tmp_path_factory.mktemp("locks-panel") / "demo")


class LocksApp(App[None]):
    CSS_PATH = WIDGET_STYLES

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield LocksPanel(self.sources)
        yield Footer()


def sources_for(
    sandbox: DemoSandbox,
    probe: ProbeFunction | None = None,
    locate: Callable[[], ServerLocation] | None = None,
) -> ConsoleSources:
    def default_locate() -> ServerLocation:
        return discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[], demo=True)

    return ConsoleSources(
        locate=locate or default_locate,
        locks=LockHealthSource(
            inspect=lambda loc: inspect_locks(loc, declared=NOTHING_DECLARED),
            probe=probe
            or (lambda report, progress, cancel: probe_report(report, progress, cancel)),
        ),
    )


def column(app: App, index: int) -> list[str]:
    table = app.screen.query_one("#locks-dirs", DataTable)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


async def test_rows_verdicts_and_no_alarms_before_probing(shared_demo: DemoSandbox) -> None:
    app = LocksApp(sources_for(shared_demo))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert [n.strip() for n in column(app, 0)][:2] == ["data dir", "Pixels"]
        assert len(column(app, 0)) == 7
        assert all(v.endswith("ok") for v in column(app, 2))
        assert set(column(app, 3)) == {"-"}
        assert "press p to probe" in text_of(app, "#locks-status")
        assert "stale" in text_of(app, "#locks-files")  # the Lucene write.lock, no server
        assert "Blitz-0.log: no symptoms" in text_of(app, "#locks-logs")
        assert "No lock problems found" in text_of(app, "#locks-findings")
        assert not app.screen.query_one("#locks-progress", ProgressBar).display


async def test_p_probes_with_progress_while_the_ui_stays_responsive(
    shared_demo: DemoSandbox,
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_probe(report, progress, cancel):  # noqa: ANN001, ANN202
        progress(ProbeProgress(2, 7, str(shared_demo.data_dir / "Files"), "flock locks"))
        entered.set()
        release.wait(20)
        return probe_report(report, None, cancel)

    app = LocksApp(sources_for(shared_demo, probe=slow_probe))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.screen.query_one("#locks-dirs", DataTable).focus()
        await pilot.press("p")
        assert entered.wait(10)
        await pilot.pause(0.1)
        panel = app.screen.query_one(LocksPanel)
        assert panel.probing
        assert app.screen.query_one("#locks-progress", ProgressBar).display
        assert "Probing 3/7" in text_of(app, "#locks-progress-label")
        # The event loop is free while the probe works: keys are handled at once.
        table = app.screen.query_one("#locks-dirs", DataTable)
        await pilot.press("down")
        assert table.cursor_row == 1
        assert str(shared_demo.data_dir / "Pixels") in text_of(app, "#locks-detail")
        release.set()
        await settle(pilot)
        assert not panel.probing
        assert not app.screen.query_one("#locks-progress", ProgressBar).display
        # A latency in each cell; its unit once, in the header ("flock ms").
        assert all(re.fullmatch(r"✓ [0-9.e+-]+", cell) for cell in column(app, 3))
        header = app.screen.query_one("#locks-dirs", DataTable).ordered_columns[3].label
        assert str(header) == "flock ms"
        assert all(cell.startswith("✓") for cell in column(app, 4) + column(app, 5))
        detail = text_of(app, "#locks-detail")
        assert "hand-over" in detail and "excl. refused" in detail
        assert "flock blocks fcntl: no" in detail
        assert "probed" in text_of(app, "#locks-status")


async def test_c_cancels_a_running_probe(shared_demo: DemoSandbox) -> None:
    entered = threading.Event()

    def waits_for_cancel(report, progress, cancel):  # noqa: ANN001, ANN202
        entered.set()
        assert cancel is not None and cancel.wait(20)
        return probe_report(report, progress, cancel)

    app = LocksApp(sources_for(shared_demo, probe=waits_for_cancel))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        assert entered.wait(10)
        await pilot.press("c")
        await settle(pilot)
        panel = app.screen.query_one(LocksPanel)
        assert not panel.probing
        assert set(column(app, 3)) == {"cancelled"}
        assert "probe was cancelled" in text_of(app, "#locks-findings")


async def test_broken_locking_simulated_is_red(shared_demo: DemoSandbox) -> None:
    def broken(report, progress, cancel):  # noqa: ANN001, ANN202
        return probe_report(
            report, progress, cancel, child_command=simulated_child("AlwaysSucceeds")
        )

    app = LocksApp(sources_for(shared_demo, probe=broken))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert "CRITICAL" in text_of(app, "#locks-status")
        assert all("locks broken" in v for v in column(app, 2))
        assert set(column(app, 3)) == {"✗ FAIL"}
        assert "locks do not exclude" in text_of(app, "#locks-detail")


async def test_a_failing_source_is_shown_not_raised(shared_demo: DemoSandbox) -> None:
    def broken_locate() -> ServerLocation:
        raise RuntimeError("no server here")

    app = LocksApp(sources_for(shared_demo, locate=broken_locate))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Could not check the locks: RuntimeError: no server here" in text_of(
            app, "#locks-status"
        )
        await pilot.press("p")  # nothing to probe yet: ignored
        await settle(pilot)
        assert not app.screen.query_one(LocksPanel).probing


def removal_sources(sandbox: DemoSandbox, stop: StopCheck) -> ConsoleSources:
    sources = sources_for(sandbox)
    return replace(
        sources,
        locks=replace(
            sources.locks,
            stopped=lambda _loc: stop,
            remove_stale=lambda report: remove_stale_locks(report, lambda: stop),
        ),
    )


def stale_lock(sandbox: DemoSandbox) -> Path:
    ident = next((sandbox.data_dir / ".omero" / "repository").iterdir())
    (ident / ".lock").write_bytes(b"")
    return ident / ".lock"


async def test_x_twice_removes_stale_locks_when_verified_stopped(demo_sandbox: DemoSandbox) -> None:
    lock = stale_lock(demo_sandbox)
    stop = StopCheck(True, "no server process is alive")
    app = LocksApp(removal_sources(demo_sandbox, stop))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LocksPanel)
        assert panel.check_action("remove_stale", ()) is True
        assert "press x to remove them" in text_of(app, "#locks-files")
        await pilot.press("x")
        await settle(pilot)
        assert lock.exists()  # the first press only asks
        assert "Press x again to remove 1 stale lock file" in text_of(app, "#locks-removal")
        await pilot.press("x")
        await settle(pilot)
        assert not lock.exists()
        assert "Removed 1 stale lock file" in text_of(app, "#locks-removal")
        assert "stale_repo_lock" not in {f.code for f in panel.report.findings}  # type: ignore[union-attr]
        assert panel.check_action("remove_stale", ()) is False  # nothing left to remove
        await pilot.press("x")  # pressed anyway: says why nothing happens
        await settle(pilot)
        assert "Nothing to remove: no stale .lock or .pyr_lock file" in text_of(
            app, "#locks-removal"
        )


async def test_removal_is_not_offered_unless_verified_stopped(demo_sandbox: DemoSandbox) -> None:
    lock = stale_lock(demo_sandbox)
    stop = StopCheck(False, "Blitz-0 (pid 4242) is still alive")
    app = LocksApp(removal_sources(demo_sandbox, stop))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LocksPanel)
        assert panel.check_action("remove_stale", ()) is False
        assert "only while the server is verified stopped" in text_of(app, "#locks-files")
        assert "Blitz-0 (pid 4242) is still alive" in text_of(app, "#locks-files")
        await pilot.press("x", "x")
        await settle(pilot)
        assert lock.exists()
        said = text_of(app, "#locks-removal")
        assert "Nothing removed: the server is not verified stopped" in said
        assert "Blitz-0 (pid 4242) is still alive" in said


async def test_a_report_read_before_p_does_not_end_the_running_probe(
    shared_demo: DemoSandbox,
) -> None:
    calls = 0
    inspect_gate, probe_gate = threading.Event(), threading.Event()
    probe_entered = threading.Event()

    def slow_second_inspect(loc: ServerLocation):  # noqa: ANN202
        nonlocal calls
        calls += 1
        if calls > 1:
            inspect_gate.wait(20)
        return inspect_locks(loc, declared=NOTHING_DECLARED)

    def gated_probe(report, progress, cancel):  # noqa: ANN001, ANN202
        probe_entered.set()
        probe_gate.wait(20)
        return probe_report(report, progress, cancel)

    sources = sources_for(shared_demo, probe=gated_probe)
    sources = replace(sources, locks=replace(sources.locks, inspect=slow_second_inspect))
    app = LocksApp(sources)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LocksPanel)
        panel.refresh_report()  # a refresh is reading when p is pressed
        await pilot.press("p")
        assert probe_entered.wait(10)
        inspect_gate.set()  # the older report arrives while the probe runs
        for _ in range(50):
            await pilot.pause(0.02)
            if calls > 1 and not any(
                w.name == "_inspect" and not w.is_finished for w in app.workers
            ):
                break
        await pilot.pause(0.1)
        assert panel.probing
        assert app.screen.query_one("#locks-progress", ProgressBar).display
        assert panel.check_action("probe", ()) is False  # no second probe meanwhile
        probe_gate.set()
        await settle(pilot)
        assert not panel.probing
        assert panel.report is not None and panel.report.probed
