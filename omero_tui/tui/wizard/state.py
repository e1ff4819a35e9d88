"""What the wizard knows so far; owned by the wizard screen, read by every page."""

from __future__ import annotations

from omero_tui.core.record import field, mutable
from omero_tui.core.relocation.engine import Prepared
from omero_tui.core.relocation.engine_context import RunResult, StepEvent
from omero_tui.core.relocation.plan import RelocationPlan
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.stale_cache import StaleMemos
from omero_tui.core.relocation.status import RelocationStatus

# The pages, in order; the run pages follow the engine's steps.
PAGES = ("choose", "preflight", "plan", "confirm", "stop", "move", "config", "start", "done")
PAGE_TITLES = {
    "choose": "Choose",
    "preflight": "Preflight",
    "plan": "Plan",
    "confirm": "Confirm",
    "stop": "Stop",
    "move": "Move",
    "config": "Config",
    "start": "Start",
    "done": "Done",
}
# Which page shows an engine step.
STEP_PAGES = {
    "stop": "stop",
    "prepare": "move",
    "copy": "move",
    "rename": "move",
    "verify": "move",
    "config": "config",
    "start": "start",
    "finish": "done",
    "rollback": "done",
    "remove-source": "done",
}


@mutable
class WizardState:
    what: str = "data"  # "data" | "managed"
    target: str = ""
    copy: bool = False  # copy and verify even where one rename would do (relocate --copy)
    prepared: Prepared | None = None
    prepare_error: str | None = None
    running: str | None = None  # "run" | "resume" | "rollback" | "remove" while the engine works
    events: list[StepEvent] = field(default_factory=list)
    progress: dict[str, Progress] = field(default_factory=dict)  # last progress per step
    result: RunResult | None = None
    config_before: bytes | None = None
    config_after: bytes | None = None
    resumed: RelocationStatus | None = None  # the journal the wizard was opened on
    stale_memos: StaleMemos | None = None  # found once, after a complete move

    @property
    def plan(self) -> RelocationPlan | None:
        """The plan being carried out: the prepared one, or the journal's on a resume."""
        if self.prepared is not None:
            return self.prepared.plan
        if self.resumed is not None:
            return RelocationPlan.from_json(self.resumed.plan)
        return None

    def events_of(self, *steps: str) -> list[StepEvent]:
        return [e for e in self.events if e.step in steps]

    def step_state(self, step: str) -> str | None:
        """The last state the engine reported for ``step``: started/done/failed/skipped."""
        states = [e.state for e in self.events if e.step == step and e.state != "info"]
        return states[-1] if states else None
