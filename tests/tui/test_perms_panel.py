"""Pilot tests: the Permissions panel in a tiny app of its own, driven by keys.

The panel's ticks are checked against ``runuser -u USER -- test`` for real scratch
users, and its fix and undo against the tree on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.perms.source import PermsSource
from omero_tui.tui.app import WIDGET_STYLES
from omero_tui.tui.screens.perms_confirm import PermsConfirm
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.perms_panel import PermsPanel
from tests.appkit import settle, text_of
from tests.cli.test_perms_cli import ACL_SPECS, acl_repos, fill
from tests.core.test_access_ground_truth import (
    Scratch,
    has_setfacl,
    make,
    scratch_users,
    truth,
    truths,
)
from tests.core.test_perms_fix import repo_tree, snapshot


class PermsApp(App[None]):
    CSS_PATH = WIDGET_STYLES

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield PermsPanel(self.sources)
        yield Footer()


def sources_for(
    *, server_dir: Path | None = None, data_dir: Path | None = None, state: Path | None = None
) -> ConsoleSources:
    def locate() -> ServerLocation:
        return discover(
            server_dir_arg=str(server_dir) if server_dir else None,
            data_dir_arg=str(data_dir) if data_dir else None,
            env={},
            candidates=[],
            demo=server_dir is not None,
        )

    # A settings file that does not exist: the admin's own must not leak into tests.
    perms = PermsSource(settings_path=Path("/nonexistent/settings.toml"), state_dir=state)
    return ConsoleSources(locate=locate, perms=perms)


def ticks_by_path(app: App) -> dict[str, str]:
    panel = app.screen.query_one(PermsPanel)
    table = app.screen.query_one("#perms-rows", DataTable)
    shown = {}
    for index, row in enumerate(panel.report.rows):
        cells = table.get_row_at(index)
        marks = [str(c) for c in cells[4:7]]
        shown[row.path] = "".join(
            letter if mark == "✓" else "-" for letter, mark in zip("rwx", marks, strict=True)
        )
    return shown


async def pick_user(pilot: Pilot, name: str) -> None:
    await pilot.press("u")
    await pilot.pause()
    await pilot.press(*name, "enter")
    await settle(pilot)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


async def test_demo_with_its_stand_in_is_green_and_says_why(tmp_path: Path) -> None:
    with DemoSession(tmp_path / "demo") as session:
        if session.start_error:
            pytest.skip(f"the demo stand-in did not start: {session.start_error}")
        app = PermsApp(sources_for(server_dir=session.sandbox.server_dir))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            status = text_of(app, "#perms-status")
            assert "✓ OK" in status and "can read and write everything" in status
            assert "demo stand-in" in text_of(app, "#perms-user")
            assert "nothing to fix" in text_of(app, "#perms-plan")
            assert set(ticks_by_path(app).values()) == {"rwx"}


async def test_the_panel_agrees_with_the_kernel_for_a_picked_user(scratch: Scratch) -> None:
    data = scratch.base / "panel-cases" / "OMERO"
    make(data.parent, scratch.other, scratch.foreign, 0o701)
    fill(
        data,
        scratch,
        [
            ("u", "u", 0o700),
            ("u", "u", 0o500),
            ("u", "g", 0o070),
            ("o", "g", 0o770),
            ("o", "g", 0o750),
            ("o", "g", 0o707),
            ("o", "f", 0o705),
            ("o", "f", 0o700),
        ],
    )
    make(data / ".omero" / "repository", scratch.user, scratch.user, 0o777)
    app = PermsApp(sources_for(data_dir=data))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pick_user(pilot, scratch.user)
        assert f"{scratch.user} was chosen" in text_of(app, "#perms-user")
        shown = ticks_by_path(app)
        assert len(shown) >= 12
        kernel = truths(scratch.user, list(shown))
        assert {p: t for p, t in shown.items() if t != kernel[p]} == {}
        assert "CRITICAL" in text_of(app, "#perms-status")


async def test_the_panel_agrees_with_the_kernel_on_the_acl_cases(scratch: Scratch) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL cases not checked")
    seen = 0
    for data in acl_repos(scratch, scratch.base / "panel-acl"):
        app = PermsApp(sources_for(data_dir=data))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            await pick_user(pilot, scratch.user)
            shown = ticks_by_path(app)
            kernel = truths(scratch.user, list(shown))
            assert {p: t for p, t in shown.items() if t != kernel[p]} == {}
            seen += len(shown)
    assert seen >= len(ACL_SPECS)


async def test_fix_after_confirm_then_undo_restores_the_tree(
    scratch: Scratch, tmp_path: Path
) -> None:
    data = repo_tree(scratch.base / "panel-fix", "root", "root", 0o750, 0o640)
    original = snapshot(data)
    app = PermsApp(sources_for(data_dir=data, state=tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pick_user(pilot, scratch.user)
        assert f"chown -R {scratch.user}:{scratch.user} {data}" in text_of(app, "#perms-plan")

        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, PermsConfirm)
        await pilot.press("escape")  # backing out changes nothing
        await settle(pilot)
        assert snapshot(data) == original

        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#perms-confirm-apply")
        await settle(pilot)
        await settle(pilot)  # the re-check after the fix
        assert "✓ OK" in text_of(app, "#perms-status")
        assert set(ticks_by_path(app)[str(data)]) == set("rwx")
        assert truth(scratch.user, data / "Pixels") == "rwx"

        await pilot.press("z")
        await pilot.pause()
        await pilot.click("#perms-confirm-apply")
        await settle(pilot)
        await settle(pilot)
        assert snapshot(data) == original
        assert "CRITICAL" in text_of(app, "#perms-status")


async def test_an_unknown_user_is_said_plainly(tmp_path: Path) -> None:
    app = PermsApp(sources_for(data_dir=tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pick_user(pilot, "otui-no-such-user")
        assert "no user 'otui-no-such-user'" in text_of(app, "#perms-status")


async def test_deep_check_lists_what_the_user_cannot_use(scratch: Scratch, tmp_path: Path) -> None:
    data = repo_tree(scratch.base / "panel-deep", scratch.user, scratch.user)
    hidden = data / "ManagedRepository" / "user-3_3" / "2026-01" / "02" / "img.tif"
    make(hidden, "root", "root", 0o600, is_dir=False)
    app = PermsApp(sources_for(data_dir=data, state=tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pick_user(pilot, scratch.user)
        assert "✓ OK" in text_of(app, "#perms-status")  # the rows alone look fine
        await pilot.press("d")
        await settle(pilot)
        findings = text_of(app, "#perms-findings")
        assert "cannot read 1 of" in findings
        assert truth(scratch.user, hidden) == "---"
        assert f"chown -R {scratch.user}" in text_of(app, "#perms-plan")
