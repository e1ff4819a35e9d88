"""The wizard's target box keeps the keyboard: typed paths never fire wizard keys (#14)."""

from __future__ import annotations

import time

from textual.widgets import Input

from omero_tui.core.record import replace
from omero_tui.tui.wizard.dir_picker import DirectoryPicker
from omero_tui.tui.wizard.wizard_screen import RelocationWizard
from tests.appkit import demo_app, settle, text_of
from tests.wizardkit import choose, open_wizard, wait_for, wizard

# Every letter a wizard key is bound to, in a path someone could type.
KEY_LETTERS_PATH = "/mnt/bcrux-knbrucx"


def target_box(app) -> Input:  # noqa: ANN001
    return wizard(app).query_one("#choose-target", Input)


async def test_text_typed_right_after_w_lands_in_the_target_box(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    journals = app.sources.wizard

    def slow_lookup(state_dir):  # noqa: ANN001, ANN202 - a slow disk, as over NFS
        time.sleep(2.0)
        return journals.unfinished_lookup(state_dir)

    wizard_source = replace(journals, unfinished_lookup=slow_lookup)
    app.sources = replace(app.sources, wizard=wizard_source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # No pause between w and the path: the wizard is still opening when it arrives,
        # and s, u, c, ... are the Layout panel's or the wizard's keys otherwise.
        await pilot.press("w", *KEY_LETTERS_PATH)
        assert not isinstance(app.screen, RelocationWizard)  # still opening
        await wait_for(pilot, lambda: isinstance(app.screen, RelocationWizard))
        screen = wizard(app)
        await wait_for(pilot, lambda: screen.location is not None)
        await pilot.pause(0.3)
        assert screen.page == "choose"
        assert target_box(app).value == KEY_LETTERS_PATH
        assert app.focused is target_box(app)
        # The layout panel underneath saw none of it either.
        assert app.screen_stack[0].query_one("#layout-panel") is not None


async def test_after_b_the_target_box_has_focus_and_letters_are_text(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_wizard(pilot)
        screen = await choose(pilot, str(demo_sandbox.second_volume / "OMERO"))
        assert screen.page == "preflight"
        await pilot.press("b")
        assert screen.page == "choose"
        assert app.focused is target_box(app)
        box = target_box(app)
        await pilot.press(*"-bcux")  # goes on at the end, never replaces the path
        await pilot.pause()
        assert screen.page == "choose"
        assert box.value == str(demo_sandbox.second_volume / "OMERO") + "-bcux"
        box.value = ""
        await pilot.press(*KEY_LETTERS_PATH)
        await pilot.pause()
        assert screen.page == "choose"
        assert box.value == KEY_LETTERS_PATH


async def test_after_the_browser_closes_letters_are_text(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_wizard(pilot)
        for leave in ("escape", "enter"):
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, DirectoryPicker))
            app.screen.current = str(demo_sandbox.second_volume)
            await pilot.press(leave)
            await wait_for(pilot, lambda: app.screen is screen)
            assert app.focused is target_box(app)
            await pilot.press("end", *"/nbx")
            await pilot.pause()
            assert screen.page == "choose"
            assert target_box(app).value.endswith("/nbx")


async def test_wizard_letter_keys_do_nothing_while_a_text_box_has_focus(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_wizard(pilot)
        for action in ("next", "back", "cancel_run", "resume", "rollback", "remove_source"):
            assert not screen.check_action(action, ()), action
        assert "n" not in app.active_bindings  # the footer does not offer it either
        box = target_box(app)
        box.value = str(demo_sandbox.second_volume / "OMERO")
        await pilot.pause(0.3)
        # The footer offers Enter for Next, not a letter the box would swallow.
        enter = app.active_bindings["enter"]
        assert enter.enabled and enter.binding.description == "Next"


async def test_a_relative_path_is_refused_on_the_choose_page_itself(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_wizard(pilot)
        box = target_box(app)
        box.value = "volume2/OMERO"
        box.cursor_position = len(box.value)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.page == "choose"
        assert "relative path" in text_of(app, "#choose-info")
        assert app.focused is box


async def test_next_is_offered_only_when_it_would_do_something(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_wizard(pilot)
        screen.set_focus(None)  # even with no text box focused
        await pilot.pause()
        assert not screen.check_action("next", ())  # nothing typed yet
        box = target_box(app)
        box.value = "relative"
        await pilot.pause(0.3)
        assert not screen.check_action("next", ())
        box.value = str(demo_sandbox.second_volume / "OMERO")
        await pilot.pause(0.3)
        assert screen.check_action("next", ())
