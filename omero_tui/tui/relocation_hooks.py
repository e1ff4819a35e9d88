"""The app's side of the relocation wizard: open it, offer resume at start-up, and never
quit in the middle of a move without asking.

The wizard's modules import the relocation engine; they are imported when first
needed, never on the way to the console's first frame.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.screen import Screen

from omero_tui.tui.changes import EVERYTHING, Change

if TYPE_CHECKING:
    from omero_tui.core.relocation.status import RelocationStatus
    from omero_tui.tui.app import OmeroTuiApp

WIZARD_MODULE = "omero_tui.tui.wizard.wizard_screen"
TYPE_AHEAD_S = 10.0  # a wizard that has not opened by then will not want the keys
# Keys that still act while the wizard opens; every other key is kept as text for it.
PASSED_THROUGH = ("escape", "ctrl+c", "ctrl+q")


def is_wizard(screen: Screen[Any]) -> bool:
    # Not imported yet means no wizard was ever opened, so this screen is not one.
    module = sys.modules.get(WIZARD_MODULE)
    return module is not None and isinstance(screen, module.RelocationWizard)


class RelocationHooks:
    """Mixed into the app (``self`` is the OmeroTuiApp)."""

    # What was typed between `w` and the target box taking the keyboard: the wizard
    # opens in a worker, and a path typed at once must neither fire the panel's keys
    # underneath nor the wizard's own (n = Next) before its box exists.
    typed_ahead: list[str] | None = None

    async def on_event(self: OmeroTuiApp, event: events.Event) -> None:
        if (
            self.typed_ahead is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and event.key not in PASSED_THROUGH
        ):
            if event.is_printable and event.character:
                self.typed_ahead.append(event.character)
            elif event.key == "backspace" and self.typed_ahead:
                self.typed_ahead.pop()
            return
        if isinstance(event, events.Key) and event.key in PASSED_THROUGH:
            self.typed_ahead = None
        await super().on_event(event)  # type: ignore[misc]

    def start_typing_ahead(self: OmeroTuiApp) -> None:
        buffer: list[str] = []
        self.typed_ahead = buffer

        def expire() -> None:
            if self.typed_ahead is buffer:
                self.typed_ahead = None

        self.set_timer(TYPE_AHEAD_S, expire)

    def take_typed_ahead(self: OmeroTuiApp) -> str:
        text = "".join(self.typed_ahead or ())
        self.typed_ahead = None
        return text

    @work(thread=True, exclusive=True, group="unfinished", exit_on_error=False)
    def look_for_unfinished(self: OmeroTuiApp) -> None:
        # After the first frame, in a thread: the engine's import and the journal read
        # never delay the console's start.
        status = self.unfinished_relocation()
        if status is not None:
            self.call_from_thread(self.offer_resume, status)

    def unfinished_relocation(self: OmeroTuiApp) -> RelocationStatus | None:
        """The journal to resume, if any; a journal that cannot be read is said, not fatal."""
        try:
            return self.sources.wizard.unfinished()
        except Exception as err:  # noqa: BLE001 - the console must open whatever the journal
            self.notify(
                f"Cannot read the relocation journals: {err}. "
                "Look with `omero-tui relocate --resume --dry-run`.",
                severity="error",
                timeout=30,
            )
            return None

    def offer_resume(self: OmeroTuiApp, status: RelocationStatus) -> None:
        from omero_tui.tui.screens.resume_prompt import ResumePrompt

        def chosen(choice: str | None) -> None:
            if choice:
                self.open_wizard(resume=status, start_with=None if choice == "look" else choice)

        self.push_screen(ResumePrompt(status), chosen)

    def open_wizard(
        self: OmeroTuiApp,
        *,
        resume: RelocationStatus | None = None,
        start_with: str | None = None,
    ) -> None:
        if is_wizard(self.screen):
            self.take_typed_ahead()
            return
        from omero_tui.tui.wizard.wizard_screen import RelocationWizard

        def closed(_result: object) -> None:
            # The repository may live elsewhere now, the server may be stopped or started,
            # a journal written: every panel built so far re-reads what it shows.
            self.publish(Change(EVERYTHING, "the relocation wizard closed"))

        self.push_screen(
            RelocationWizard(
                self.sources.locate,
                self.sources.wizard,
                demo_label=self.sources.demo_label,
                resume=resume,
                start_with=start_with,
            ),
            closed,
        )

    def action_relocate(self: OmeroTuiApp) -> None:
        self.start_typing_ahead()
        self._open_for_relocation()

    @work(thread=True, exclusive=True, group="relocate", exit_on_error=False)
    def _open_for_relocation(self: OmeroTuiApp) -> None:
        # In a thread: the first press imports the engine and reads the journals.
        status = self.unfinished_relocation()
        self.call_from_thread(lambda: self.open_wizard(resume=status))

    async def action_quit(self: OmeroTuiApp) -> None:
        screen = self.screen
        if is_wizard(screen) and screen.state.running is not None:
            from omero_tui.tui.screens.confirm_modal import ConfirmModal

            def answered(yes: bool | None) -> None:
                if yes:
                    screen.cancel_event.set()
                    self.quit_when_idle(screen)

            self.push_screen(
                ConfirmModal(
                    "A relocation is running",
                    [
                        "Quitting stops it at the next safe point; resume or roll it back",
                        "later (the console offers that when it starts again).",
                        *(
                            [
                                "The demo sandbox is then kept, not deleted, with the journal",
                                "that can resume or roll back the move; the console says where.",
                            ]
                            if self.sources.demo_label
                            else []
                        ),
                    ],
                    action="Stop safely and quit",
                    cancel="Keep going",
                ),
                answered,
            )
            return
        self.exit()

    def quit_when_idle(self: OmeroTuiApp, screen: Any) -> None:
        if screen.state.running is None:
            self.exit()
        else:
            self.set_timer(0.2, lambda: self.quit_when_idle(screen))
