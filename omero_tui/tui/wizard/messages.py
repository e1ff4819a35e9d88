"""Messages from the wizard's thread workers to its screen (post_message is thread-safe)."""

from __future__ import annotations

import threading

from textual.message import Message

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.relocation.engine import Prepared
from omero_tui.core.relocation.engine_context import RunResult, StepEvent
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.stale_cache import StaleMemos
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.core.relocation.target_choice import TargetChoice


class ChoiceDescribed(Message):
    def __init__(self, choice: TargetChoice) -> None:
        super().__init__()
        self.choice = choice


class PlanReady(Message):
    def __init__(self, prepared: Prepared) -> None:
        super().__init__()
        self.prepared = prepared


class PrepareFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class EngineProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class EngineStep(Message):
    def __init__(self, event: StepEvent) -> None:
        super().__init__()
        self.event = event


class EngineFinished(Message):
    """The engine returned; ``status`` is the journal's state afterwards (None: no journal);
    ``stale`` the Bio-Formats memo tree a complete move left behind, if any; ``ended``
    how the journal of this run ended ("aborted" also for a cancel before anything moved).
    """

    def __init__(
        self,
        result: RunResult,
        status: RelocationStatus | None,
        stale: StaleMemos | None = None,
        ended: str | None = None,
    ) -> None:
        super().__init__()
        self.result, self.status, self.stale = result, status, stale
        self.ended = ended


class EngineCrashed(Message):
    """The engine raised instead of returning a result: a refusal or a bug."""

    def __init__(self, error: str, status: RelocationStatus | None, *, refused: bool) -> None:
        super().__init__()
        self.error, self.status = error, status
        self.refused = refused  # refused before acting: nothing was changed


class LocationFound(Message):
    def __init__(self, location: ServerLocation) -> None:
        super().__init__()
        self.location = location


class ConfigRead(Message):
    """config.xml's bytes just before the relocation, or just after its rewrite."""

    def __init__(self, data: bytes, *, before: bool) -> None:
        super().__init__()
        self.data, self.before = data, before


class ServerQuestion(Message):
    """Manual server control: the engine's thread waits until ``answer`` is called."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.answered = threading.Event()
        self.reply = False

    def answer(self, yes: bool) -> None:
        self.reply = yes
        self.answered.set()


class Notice(Message):
    """A one-line outcome of a side action (clearing the cache) for a toast."""

    def __init__(self, text: str, *, error: bool = False, cleared: bool = False) -> None:
        super().__init__()
        self.text, self.error = text, error
        self.cleared = cleared  # the stale memo tree is gone
