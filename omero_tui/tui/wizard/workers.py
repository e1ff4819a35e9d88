"""The wizard's thread workers: locate, describe, prepare, and run the engine.

Workers only post messages (thread-safe); the screen's handlers own the state. The
engine's ``ask`` (manual server control) blocks its own thread until the admin
answers in a modal, never the UI.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from omero_tui.core.relocation.engine_context import StepEvent
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.relocate_dry_runs import rollback_actions
from omero_tui.core.relocation.remove_source import DeletionStopped
from omero_tui.core.relocation.stale_cache import StaleMemos, clear_stale_memos, stale_memos
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.tui.screens.confirm_modal import ConfirmModal
from omero_tui.tui.wizard.choices_text import rollback_refusal
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

if TYPE_CHECKING:
    from omero_tui.tui.wizard.wizard_screen import RelocationWizard

ASK_POLL_S = 0.2


class WizardWorkers:
    """Mixed into RelocationWizard; ``self`` is the screen."""

    @work(thread=True, exclusive=True, group="wizard-locate", exit_on_error=False)
    def find_location(self: RelocationWizard) -> None:
        try:
            location = self.locate()
        except Exception as err:  # noqa: BLE001 - shown, never a crash
            self.post_message(EngineCrashed(f"cannot find the server: {err}", None, refused=True))
            return
        self.post_message(LocationFound(location))

    @work(thread=True, exclusive=True, group="wizard-describe", exit_on_error=False)
    def describe_target(self: RelocationWizard, text: str) -> None:
        self.post_message(ChoiceDescribed(self.source.choice(text)))

    @work(thread=True, exclusive=True, group="wizard-prepare", exit_on_error=False)
    def prepare(self: RelocationWizard, what: str, target: str) -> None:
        try:
            prepared = self.source.prepare(
                self.location,
                target,
                what,
                settings=self.source.settings(),
                options=self.source.options,
                progress=lambda p: self.post_message(EngineProgress(p)),
                cancel=self.cancel_event,
                copy=self.state.copy,
            )
        except RelocationRefused as err:
            self.post_message(PrepareFailed(str(err)))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(PrepareFailed(f"{type(err).__name__}: {err}"))
            return
        self.post_message(PlanReady(prepared))

    # ------------------------------------------------------------------ the engine

    def start_engine(self: RelocationWizard, kind: str) -> None:
        self.state.running = kind
        self.refresh_bindings()
        self._engine(kind, self.cancel_event)

    @work(thread=True, exclusive=True, group="wizard-engine", exit_on_error=False)
    def _engine(self: RelocationWizard, kind: str, cancel: threading.Event) -> None:
        source = self.source
        config_path = self.state.plan.config_path if self.state.plan else None

        def on_step(event: StepEvent) -> None:
            self.post_message(EngineStep(event))
            if event.step == "config" and event.state == "done" and config_path:
                with contextlib.suppress(OSError):
                    self.post_message(ConfigRead(Path(config_path).read_bytes(), before=False))

        def ask(question: str) -> bool:
            message = ServerQuestion(question)
            self.post_message(message)
            while not message.answered.wait(ASK_POLL_S):
                if cancel.is_set():
                    return False
            return message.reply

        common: dict[str, Any] = {
            "options": source.options,
            "progress": lambda p: self.post_message(EngineProgress(p)),
            "on_step": on_step,
            "cancel": cancel,
            "ask": ask,
        }
        try:
            if kind == "run":
                if config_path:
                    with contextlib.suppress(OSError):
                        data = Path(config_path).read_bytes()
                        self.post_message(ConfigRead(data, before=True))
                result = source.run(self.state.prepared, **common)
            else:
                call = {
                    "resume": source.resume,
                    "rollback": source.rollback,
                    "remove": source.remove_source,
                }[kind]
                status = self.state.resumed if kind != "remove" else source.latest()
                result = call(status, settings=source.settings(), **common)
        except RelocationRefused as err:
            self.post_message(EngineCrashed(str(err), self._journal_status(), refused=True))
            return
        except Exception as err:  # noqa: BLE001 - the journal still tells what happened
            crash = f"{type(err).__name__}: {err}"
            self.post_message(EngineCrashed(crash, self._journal_status(), refused=False))
            return
        # Looked for here, once: not from check_action, which runs at every key.
        plan = self.state.plan
        moved = result.outcome in ("complete", "source removed")
        stale = stale_memos(plan) if plan is not None and moved else None
        ended = self._journal_end(result.relocation_id)
        self.post_message(EngineFinished(result, self._journal_status(), stale, ended))

    def _journal_status(self: RelocationWizard) -> RelocationStatus | None:
        try:
            return self.source.unfinished()
        except Exception:  # noqa: BLE001 - an unreadable journal: the problem page says so
            return None

    def _journal_end(self: RelocationWizard, relocation_id: str) -> str | None:
        """How this run's journal ended, when it is the latest one; else None."""
        try:
            latest = self.source.latest()
        except Exception:  # noqa: BLE001 - unknown: the pages then claim nothing
            return None
        return latest.state if latest is not None and latest.id == relocation_id else None

    # ------------------------------------------------------------------ actions

    def action_resume(self: RelocationWizard) -> None:
        if self.state.running is None and self.state.resumed is not None:
            self.state.events.clear()
            self.state.progress.clear()
            self.start_engine("resume")

    def action_rollback(self: RelocationWizard) -> None:
        status = self.state.resumed
        if self.state.running is not None or status is None:
            return
        refusal = rollback_refusal(status)
        if refusal:
            self.notify(f"Cannot roll back: {refusal}", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.state.events.clear()
                self.state.progress.clear()
                self.start_engine("rollback")

        self.app.push_screen(
            ConfirmModal(
                f"Roll back relocation {status.id}?",
                [f"- {line}" for line in rollback_actions(status)],
                action="Roll back",
            ),
            answered,
        )

    def action_remove_source(self: RelocationWizard) -> None:
        plan = self.state.plan
        if plan is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_engine("remove")

        self.app.push_screen(
            ConfirmModal(
                f"Delete the old copy at {plan.source_real}?",
                [
                    "Every file is compared with the new copy first; if any differs,",
                    "nothing is deleted. The server must be running on the new location.",
                    "This cannot be undone.",
                ],
                action="Delete the old copy",
                word="delete",
            ),
            answered,
        )

    def action_clear_cache(self: RelocationWizard) -> None:
        memos = self.state.stale_memos
        if memos is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._clear(memos)

        self.app.push_screen(
            ConfirmModal(
                "Clear the stale Bio-Formats memo files?",
                [
                    f"Deletes {memos.stale_dir}: memo files of the old paths, which OMERO",
                    "never reads again. Memos of the new paths are rebuilt on first use.",
                ],
                action="Clear",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="wizard-cache", exit_on_error=False)
    def _clear(self: RelocationWizard, memos: StaleMemos) -> None:
        try:
            removed = clear_stale_memos(memos)
        except (OSError, ValueError, DeletionStopped) as err:
            self.post_message(Notice(f"Not cleared: {err}", error=True))
            return
        self.post_message(Notice(f"Cleared {removed} stale memo entries.", cleared=True))
