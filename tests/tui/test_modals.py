"""The modals before anything irreversible: a stray Enter must never say yes."""

from __future__ import annotations

from textual.app import App

from omero_tui.tui.screens.confirm_modal import ConfirmModal
from omero_tui.tui.screens.perms_confirm import PermsConfirm


class Host(App[None]):
    def __init__(self, modal) -> None:  # noqa: ANN001
        super().__init__()
        self.modal = modal
        self.answers: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.answers.append)


async def test_enter_on_a_confirm_modal_cancels() -> None:
    app = Host(ConfirmModal("Delete?", ["gone for good"], action="Delete"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "confirm-no"
        await pilot.press("enter")
        await pilot.pause()
    assert app.answers == [False]


async def test_a_typed_word_is_needed_before_the_action_is_possible() -> None:
    app = Host(ConfirmModal("Delete?", ["gone for good"], action="Delete", word="delete"))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press(*"delet", "enter")  # not the word: Enter does nothing
        await pilot.pause()
        assert app.answers == []
        assert app.screen.query_one("#confirm-yes").disabled
        await pilot.press("e", "enter")
        await pilot.pause()
    assert app.answers == [True]


async def test_enter_on_the_permissions_confirm_cancels() -> None:
    app = Host(PermsConfirm("Apply the fix?", ["chown -R omero-server /OMERO"]))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert app.answers == [False]
