"""Choosing the target: completion of directory names, and the directory browser."""

from __future__ import annotations

from pathlib import Path

from omero_tui.tui.wizard.dir_picker import DirectoryPicker
from omero_tui.tui.wizard.path_suggester import complete_directory
from tests.appkit import demo_app, settle, text_of
from tests.wizardkit import open_wizard, wait_for, wizard


def test_completion_of_a_unique_directory_adds_its_slash(tmp_path: Path) -> None:
    (tmp_path / "volume-new").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "volume-notes.txt").write_text("a file is never offered")
    assert complete_directory(f"{tmp_path}/vol") == f"{tmp_path}/volume-new/"


def test_completion_stops_at_the_common_prefix_of_several(tmp_path: Path) -> None:
    (tmp_path / "data-a").mkdir()
    (tmp_path / "data-b").mkdir()
    assert complete_directory(f"{tmp_path}/d") == f"{tmp_path}/data-"
    assert complete_directory(f"{tmp_path}/data-") is None  # nothing more to add


def test_completion_offers_hidden_directories_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / ".hidden").mkdir()
    assert complete_directory(f"{tmp_path}/") is None
    assert complete_directory(f"{tmp_path}/.h") == f"{tmp_path}/.hidden/"


def test_completion_ignores_relative_and_unreadable_input(tmp_path: Path) -> None:
    assert complete_directory("relative/pa") is None
    assert complete_directory(f"{tmp_path}/missing/x") is None


async def test_the_browser_puts_the_picked_directory_in_the_target_field(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_wizard(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, DirectoryPicker))
        picker = app.screen
        picker.current = str(demo_sandbox.second_volume)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.query_one("#choose-target").value == str(demo_sandbox.second_volume)
        # The demo's second volume is really empty: nothing in it counts against it.
        await wait_for(pilot, lambda: "empty directory" in text_of(app, "#choose-info"))
        assert "not empty" not in text_of(app, "#choose-info")
        assert "free" in text_of(app, "#choose-info")
        assert wizard(app).page == "choose"
