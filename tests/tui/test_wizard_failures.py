"""The wizard when the unexpected happens: it says what it knows, and never guesses."""

from __future__ import annotations

from omero_tui.core.record import replace
from omero_tui.core.relocation.engine import EngineOptions
from omero_tui.tui.wizard.source import WizardSource
from omero_tui.tui.wizard.wizard_screen import RelocationWizard
from tests.appkit import demo_app, settle, state_dir_of, text_of
from tests.wizardkit import choose, confirm_and_run, open_wizard, until_finished, wait_for


async def test_a_server_that_cannot_be_found_is_said_and_esc_closes(demo_sandbox) -> None:  # noqa: ANN001
    app = demo_app(demo_sandbox)

    def lost():  # noqa: ANN202
        raise OSError("no OMERO.server here")

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.sources = replace(app.sources, locate=lost)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, RelocationWizard))
        await wait_for(pilot, lambda: "no OMERO.server here" in text_of(app, "#wizard-loading"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RelocationWizard))


async def test_an_engine_crash_with_an_unreadable_journal_claims_nothing(demo_sandbox) -> None:  # noqa: ANN001
    state = state_dir_of(demo_sandbox)

    def crash(prepared, **_):  # noqa: ANN001, ANN003, ANN202
        raise RuntimeError("disk on fire")

    def unreadable(_state):  # noqa: ANN001, ANN202
        raise OSError("journal unreadable")

    source = WizardSource(
        options=EngineOptions(state_dir=state, probe_locks=False),
        run=crash,
        unfinished_lookup=unreadable,
    )
    app = demo_app(demo_sandbox)
    app.sources = replace(app.sources, wizard=source)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.sources = replace(app.sources, wizard=source)
        await open_wizard(pilot)
        await choose(pilot, str(demo_sandbox.second_volume / "OMERO"))
        screen = await confirm_and_run(pilot)
        await until_finished(pilot)
        assert screen.page == "problem"
        state_text = text_of(app, "#problem-state")
        assert "does not say what was done" in state_text
        assert "Nothing was changed" not in state_text
        assert "disk on fire" in text_of(app, "#problem-what")
