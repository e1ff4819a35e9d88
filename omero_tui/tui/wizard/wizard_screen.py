"""The relocation wizard: one page per step; the engine runs in a thread worker.

Nothing changes before the confirm page. From then on the engine drives the pages:
each step it starts shows its page, so the admin watches stop, move, config and start
happen in order, and a failure or a cancel lands on a page that says what state the
system is in and what the choices are.
"""

from __future__ import annotations

import os
import threading

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, Static

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.tui.copy_commands import commands_in, copy_commands, shown_text
from omero_tui.tui.screens.confirm_modal import ConfirmModal
from omero_tui.tui.widgets.fitting_footer import FittingFooter
from omero_tui.tui.wizard.choices_text import rollback_refusal
from omero_tui.tui.wizard.dir_picker import DirectoryPicker
from omero_tui.tui.wizard.messages import (
    ChoiceDescribed,
    ConfigRead,
    EngineCrashed,
    EngineFinished,
    EngineProgress,
    EngineStep,
    LocationFound,
    Notice,
    PlanReady,
    PrepareFailed,
    ServerQuestion,
)
from omero_tui.tui.wizard.run_pages import RUN_PAGES, make_pages
from omero_tui.tui.wizard.source import WizardSource
from omero_tui.tui.wizard.state import STEP_PAGES, WizardState
from omero_tui.tui.wizard.step_bar import StepBar, WizardView
from omero_tui.tui.wizard.step_choose import ChoosePage, target_refusal
from omero_tui.tui.wizard.step_confirm import ConfirmPage
from omero_tui.tui.wizard.workers import WizardWorkers

CHOICE_DELAY_S = 0.15  # describe the target once typing pauses, not at every key
# Keys that are single letters: while a text box has the keyboard they are its text.
LETTER_ACTIONS = frozenset(
    {
        "next",
        "back",
        "cancel_run",
        "resume",
        "rollback",
        "remove_source",
        "clear_cache",
        "copy_commands",
    }
)


class RelocationWizard(WizardWorkers, Screen[None]):
    BINDINGS = [
        Binding("n", "next", "Next"),
        Binding("b", "back", "Back"),
        Binding("ctrl+o", "browse", "Browse…"),
        Binding("c", "cancel_run", "Cancel move…"),
        Binding("r", "resume", "Resume"),
        Binding("u", "rollback", "Roll back…"),
        Binding("x", "remove_source", "Remove old copy…"),
        Binding("k", "clear_cache", "Clear stale cache…"),
        Binding("y", "copy_commands", "Copy commands"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        locate,  # noqa: ANN001 - Callable[[], ServerLocation]
        source: WizardSource,
        *,
        demo_label: str | None = None,
        resume: RelocationStatus | None = None,
        start_with: str | None = None,  # "resume" | "rollback" on the resume prompt's word
    ) -> None:
        super().__init__()
        self.locate = locate
        self.source = source
        self.demo_label = demo_label
        self.state = WizardState(resumed=resume)
        self.location: ServerLocation | None = None
        self.page = "problem" if resume is not None else "choose"
        self.start_with = start_with
        self.cancel_event = threading.Event()
        self.problem: tuple[str, RelocationStatus | None, bool] | None = None
        self.problem_unchanged = False  # known for certain that nothing was changed
        self._choice_timer = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        title = "[b]Relocation wizard[/b]"
        if self.demo_label:
            title += f"  [reverse] DEMO [/reverse] sandbox {self.demo_label}"
        yield Static(title, id="wizard-title")
        yield StepBar(id="wizard-steps")
        with Vertical(id="wizard-body"):
            yield Static("Finding the server…", id="wizard-loading")
            yield ContentSwitcher(id="wizard-pages")
        yield FittingFooter()

    def on_mount(self) -> None:
        self._show_steps()
        self.find_location()

    def on_unmount(self) -> None:
        # Gone while the engine works (the app closed): stop at the next safe point
        # rather than leave a copy running with nobody to watch it.
        self.cancel_event.set()

    @on(LocationFound)
    async def _location(self, message: LocationFound) -> None:
        self.location = message.location
        self.query_one("#wizard-loading").display = False
        switcher = self.query_one("#wizard-pages", ContentSwitcher)
        await switcher.mount(
            ChoosePage(message.location, self.state.what, self.state.target, self.state.copy)
        )
        await switcher.mount_all(make_pages())
        for page in switcher.children:  # the switcher hides only what it held at its mount
            page.display = False
        typed_ahead = self.typed_ahead()
        if self.state.resumed is not None:
            self.show_problem("An unfinished relocation was found.", self.state.resumed, False)
            if self.start_with == "resume":
                self.action_resume()
            elif self.start_with == "rollback":
                self.action_rollback()
        else:
            self.go("choose")
            self.query_one(ChoosePage).focus_target(typed_ahead)

    def typed_ahead(self) -> str:
        """What was typed between `w` and now (the app holds it while the wizard opens)."""
        take = getattr(self.app, "take_typed_ahead", None)
        return take() if take is not None else ""

    # ------------------------------------------------------------------ pages

    def go(self, page: str) -> None:
        self.page = page
        self.query_one("#wizard-pages", ContentSwitcher).current = f"page-{page}"
        self.refresh_page()
        self.refresh_bindings()
        if page == "confirm":
            self.query_one(ConfirmPage).focus_input()
        elif page == "choose":
            self.query_one(ChoosePage).focus_target()
        else:
            self.query_one(f"#page-{page}").focus()

    def refresh_page(self) -> None:
        if self.page == "problem" and self.problem is not None:
            what, status, cancelled = self.problem
            self.query_one("#page-problem").show(
                what, status, cancelled=cancelled, unchanged=self.problem_unchanged
            )
        elif self.page in RUN_PAGES:
            self.query_one(f"#page-{self.page}").show(self.state)
        self._show_steps()

    def show_problem(
        self,
        what: str,
        status: RelocationStatus | None,
        cancelled: bool,
        *,
        unchanged: bool = False,
    ) -> None:
        self.problem = (what, status, cancelled)
        self.problem_unchanged = unchanged
        if status is not None and status.unfinished:
            self.state.resumed = status
        self.go("problem")

    def _show_steps(self) -> None:
        problem = self.problem if self.page == "problem" else None
        view = WizardView(
            self.page,
            unfinished=problem is not None and self._unfinished(),
            unchanged=problem is not None and self.problem_unchanged,
        )
        self.query_one(StepBar).show(view, self.state)

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.state.running is not None
        page = self.page
        if action in LETTER_ACTIONS and isinstance(self.focused, Input):
            return False  # the letter is text in the box, never a key
        if action == "next":
            return not running and self._next_would_act()
        if action == "back":
            return not running and page in ("preflight", "plan", "confirm")
        if action == "browse":
            return page == "choose"
        if action == "cancel_run":
            return self.state.running in ("run", "resume") and page in ("stop", "move")
        if action == "resume":
            return not running and page == "problem" and self._unfinished()
        if action == "rollback":
            return (
                not running
                and page == "problem"
                and self._unfinished()
                and rollback_refusal(self.problem[1]) is None
            )
        if action == "remove_source":
            return not running and page == "done" and self._copy_complete()
        if action == "copy_commands":
            return not running and bool(self.page_commands())
        if action == "clear_cache":
            return not running and page == "done" and self.state.stale_memos is not None
        return True

    def _next_would_act(self) -> bool:
        if self.page == "choose":
            return self.location is not None and target_refusal(self.state.target) is None
        if self.page == "preflight":
            prepared = self.state.prepared
            return prepared is not None and prepared.preflight.ok
        return self.page == "plan"

    def _unfinished(self) -> bool:
        return self.problem is not None and bool(self.problem[1] and self.problem[1].unfinished)

    def _copy_complete(self) -> bool:
        plan, result = self.state.plan, self.state.result
        return bool(plan and result and result.outcome == "complete" and plan.method == "copy")

    def action_next(self) -> None:
        if self.page == "choose":
            page = self.query_one(ChoosePage)
            refusal = target_refusal(page.target)
            if refusal is not None:
                page.refuse(refusal)  # said here, before any preflight runs
                return
            self.state.what, self.state.target = page.what, page.target
            self.state.copy = page.copy
            self.state.prepared, self.state.prepare_error = None, None
            self.go("preflight")
            self.query_one("#page-preflight").show_running(None)
            self.prepare(self.state.what, self.state.target)
        elif self.page == "preflight":
            prepared = self.state.prepared
            if prepared is not None and prepared.preflight.ok:
                self.go("plan")
        elif self.page == "plan":
            self.go("confirm")

    def action_back(self) -> None:
        back = {"preflight": "choose", "plan": "preflight", "confirm": "plan"}
        if self.page in back:
            self.go(back[self.page])

    def action_browse(self) -> None:
        # Beside the repository, never inside the tree being moved.
        data_dir = self.location.data_dir.value if self.location else None
        start = self.state.target or (os.path.dirname(data_dir.rstrip("/")) if data_dir else "/")
        choice = self.source.choice(start)
        where = choice.existing or "/"

        def picked(path: str | None) -> None:
            page = self.query_one(ChoosePage)
            if path:
                page.set_target(path)
            page.focus_target()  # picked or not: typing goes on in the box

        self.app.push_screen(DirectoryPicker(where, self.source.choice), picked)

    def page_commands(self) -> list[str]:
        """The commands the page on screen shows: its own, then those quoted in its text."""
        if self.location is None:
            return []
        page = self.query_one(f"#page-{self.page}")
        return [*getattr(page, "commands", []), *commands_in(shown_text(page))]

    def action_copy_commands(self) -> None:
        copy_commands(self, self.page_commands())

    def action_close(self) -> None:
        if self.state.running is not None:
            self.action_cancel_run()
            return
        self.dismiss(None)

    def too_late_to_cancel(self) -> str | None:
        """Why a cancel would change nothing now (the move is done), or None."""
        if self.state.running is None:
            result = self.state.result
            if result is not None and result.ok:
                return "Too late: the relocation already completed."
            return "Nothing is running to cancel."
        if self.state.running in ("run", "resume") and self.state.step_state("config"):
            # From the config rewrite on, the engine finishes: config.xml names the new
            # place, and starting the server there is the quickest way to a whole state.
            return (
                "Too late: the relocation already completed its move; "
                "config.xml and the start finish on their own."
            )
        return None

    def action_cancel_run(self) -> None:
        late = self.too_late_to_cancel()
        if late is not None:
            self.notify(late, severity="warning")
            return
        if self.state.running not in ("run", "resume"):
            self.notify("This step cannot be interrupted; it finishes on its own.")
            return
        # The run this modal is about: a later run gets its own event, never this answer.
        event = self.cancel_event

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            late = self.too_late_to_cancel()  # the run went on while the modal was open
            if late is not None or event is not self.cancel_event:
                late = late or "Too late: the relocation already completed."
                self.notify(late, severity="warning")
                return
            event.set()
            self.notify("Stopping at the next safe point…")

        self.app.push_screen(
            ConfirmModal(
                "Cancel the relocation?",
                [
                    "The engine stops at the next safe point: files copied and verified so far",
                    "are kept, the source is never touched, and config.xml is not changed yet",
                    "unless that step is already done. You can then resume or roll back.",
                ],
                action="Stop at a safe point",
                cancel="Keep going",
            ),
            answered,
        )

    # ------------------------------------------------------------------ messages

    @on(ChoosePage.Changed)
    def _choice_changed(self, message: ChoosePage.Changed) -> None:
        self.state.what, self.state.target = message.what, message.target
        self.refresh_bindings()
        if self._choice_timer is not None:
            self._choice_timer.stop()
        self._choice_timer = self.set_timer(
            CHOICE_DELAY_S, lambda: self.describe_target(message.target)
        )

    @on(ChoosePage.Submitted)
    def _choice_submitted(self) -> None:
        self.action_next()

    @on(ChoiceDescribed)
    def _described(self, message: ChoiceDescribed) -> None:
        if message.choice.text == self.state.target:
            self.query_one(ChoosePage).show_choice(message.choice)

    @on(PlanReady)
    def _plan_ready(self, message: PlanReady) -> None:
        self.state.prepared = message.prepared
        self.query_one("#page-preflight").show(self.state)
        self.query_one("#page-plan").show(self.state)
        self.query_one(ConfirmPage).show(self.state)
        self._show_steps()
        self.refresh_bindings()

    @on(PrepareFailed)
    def _prepare_failed(self, message: PrepareFailed) -> None:
        self.state.prepare_error = message.error
        self.query_one("#page-preflight").show(self.state)
        self._show_steps()
        self.refresh_bindings()

    @on(EngineProgress)
    def _progress(self, message: EngineProgress) -> None:
        if self.state.running is None and self.page == "preflight":
            self.query_one("#page-preflight").show_running(message.progress)
            return
        self.state.progress[message.progress.step] = message.progress
        self.refresh_page()

    @on(EngineStep)
    def _step(self, message: EngineStep) -> None:
        event = message.event
        self.state.events.append(event)
        page = STEP_PAGES.get(event.step)
        if page is not None and event.state in ("started", "failed") and page != self.page:
            self.go(page)
        else:
            self.refresh_page()

    @on(ConfigRead)
    def _config_read(self, message: ConfigRead) -> None:
        if message.before:
            self.state.config_before = message.data
        else:
            self.state.config_after = message.data
        self.refresh_page()

    @on(EngineFinished)
    def _finished(self, message: EngineFinished) -> None:
        self.state.running = None
        result = message.result
        self.state.result = result
        self.state.stale_memos = message.stale
        self.cancel_event = threading.Event()
        if result.ok:
            self.go("done")
        else:
            self.show_problem(
                result.message,
                message.status,
                result.outcome == "cancelled",
                # Stopped before anything changed, or everything was put back.
                unchanged=result.outcome == "aborted" or message.ended == "aborted",
            )
        self.refresh_bindings()

    @on(EngineCrashed)
    def _crashed(self, message: EngineCrashed) -> None:
        if self.location is None:  # before the pages exist: the server was not found
            self.typed_ahead()  # a path typed for a wizard that cannot open goes nowhere
            loading = self.query_one("#wizard-loading", Static)
            loading.update(Text(f"✗ {message.error}. Esc closes the wizard.", "bold red"))
            return
        self.state.running = None
        self.cancel_event = threading.Event()
        self.show_problem(message.error, message.status, False, unchanged=message.refused)

    @on(ServerQuestion)
    def _question(self, message: ServerQuestion) -> None:
        def answered(yes: bool | None) -> None:
            message.answer(bool(yes))

        self.app.push_screen(
            ConfirmModal(
                "The server is controlled by hand",
                [message.question],
                action="Done",
                cancel="Cancel the relocation",
            ),
            answered,
        )

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        if message.cleared:
            self.state.stale_memos = None
            self.refresh_page()
        self.notify(message.text, severity="error" if message.error else "information")
        self.refresh_bindings()

    @on(ConfirmPage.Confirmed)
    def _confirmed(self) -> None:
        if self.state.prepared is not None and self.state.running is None:
            self.start_engine("run")
