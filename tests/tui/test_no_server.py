"""Pilot tests: with no server to look after, the console says so in one plain line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from omero_tui.core.discovery import discover
from omero_tui.core.health.source import HealthSource
from omero_tui.core.usage.service import UsageSource
from omero_tui.tui.app import OmeroTuiApp
from omero_tui.tui.screens.no_server import NoServerScreen
from omero_tui.tui.sources import ConsoleSources
from tests.appkit import settle, text_of


def no_server_app(tmp_path: Path, candidates: list[str]) -> OmeroTuiApp:
    state = tmp_path / "state"
    sources = ConsoleSources(
        locate=lambda: (
            discover(env={}, candidates=candidates, platform="linux")
            if not (tmp_path / "found").exists()
            else discover(server_dir_arg=str(tmp_path / "found"), env={})
        ),
        health=HealthSource(state_dir=state),
        usage=UsageSource(state_dir=state),
    )
    return OmeroTuiApp(sources, initial_panel="tab-overview")


needs_no_default_repository = pytest.mark.skipif(
    Path("/OMERO").is_dir(), reason="OMERO's default data dir exists here: there is a repository"
)


@needs_no_default_repository
async def test_no_server_is_one_plain_line_and_every_key_says_the_same(tmp_path: Path) -> None:
    nowhere = [str(tmp_path / "opt" / "OMERO.server"), str(tmp_path / "usr" / "OMERO.server")]
    app = no_server_app(tmp_path, nowhere)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NoServerScreen)
        line = text_of(app, "#no-server-line")
        assert "No OMERO.server found" in line and nowhere[0] in line
        assert "1 other usual install dir;" in line
        for way in ("--server-dir", "--data-dir", "--demo"):
            assert way in line
        assert "CRITICAL" not in line and "/OMERO " not in line
        for key in ("w", "s", "3"):
            app.clear_notifications()
            await pilot.press(key)
            await settle(pilot)
            said = [n.message for n in app._notifications]
            assert said == [app.screen.reason[:1].upper() + app.screen.reason[1:] + "."], key
            assert isinstance(app.screen, NoServerScreen)


@needs_no_default_repository
async def test_look_again_finds_a_server_and_shows_the_panels(tmp_path: Path) -> None:
    app = no_server_app(tmp_path, [])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NoServerScreen)
        (tmp_path / "found" / "etc" / "grid").mkdir(parents=True)
        await pilot.press("r")
        await settle(pilot)
        assert not isinstance(app.screen, NoServerScreen)


async def test_a_bad_server_dir_names_the_argument(tmp_path: Path) -> None:
    sources = ConsoleSources(
        locate=lambda: discover(server_dir_arg="/nonexistent", env={}),
        health=HealthSource(state_dir=Path(tempfile.mkdtemp(dir=tmp_path))),
    )
    app = OmeroTuiApp(sources, initial_panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert text_of(app, "#no-server-line") == (
            "✗ --server-dir /nonexistent: no such directory.\n"
        )
