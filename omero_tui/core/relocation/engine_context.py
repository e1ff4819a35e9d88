"""What every engine step shares: the plan, the journal, the controller and the callbacks.

A step is journalled "started" before it acts and "done" after; a failure is journalled
with its one-line reason before it propagates, so the journal always tells a resume or
a rollback how far things went.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.record import field, frozen, mutable
from omero_tui.core.relocation.journal import Journal
from omero_tui.core.relocation.plan import RelocationPlan
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.status import RelocationStatus, status_of
from omero_tui.core.server.control import ServerController


@frozen
class EngineOptions:
    state_dir: Path | None = None  # default: omero-tui's state dir
    env: Mapping[str, str] | None = None  # default: os.environ
    stop_timeout_s: float = 120.0  # for the proof, after the stop command returned
    start_timeout_s: float = 300.0  # OMERO's own start waits up to 300 s
    start_settle_s: float = 2.0  # still up this long after "running": not dying at once
    lock_timeout_s: float = 60.0  # config.xml.lock
    probe_locks: bool = True  # run the two-process lock probe on the target
    database: bool = True  # prove the copy against OMERO's database when it can be read
    # Rewrite the `config set` line of a .omero file (not a template) that would put
    # the old path back at the next start, instead of refusing.
    rewrite_config_sources: bool = False


@frozen
class StepEvent:
    step: str
    state: str  # "started" | "done" | "failed" | "skipped" | "info" (a detail on the way)
    message: str  # one line

    def to_json(self) -> dict[str, object]:
        return {"event": "step", "step": self.step, "state": self.state, "message": self.message}


@frozen
class RunResult:
    relocation_id: str
    outcome: str  # complete | aborted | failed | cancelled | rolled back | source removed
    #               | dry run
    message: str  # one line
    notes: tuple[Finding, ...] = ()
    journal_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("complete", "rolled back", "source removed", "dry run")

    def to_json(self) -> dict[str, object]:
        return {
            "event": "result",
            "id": self.relocation_id,
            "outcome": self.outcome,
            "ok": self.ok,
            "message": self.message,
            "notes": [n.to_json() for n in self.notes],
            "journal": self.journal_path,
        }


class StepFailed(Exception):
    """A step could not be completed; ``str(err)`` is one line for the admin."""


class StartRefused(StepFailed):
    """The server must not be started: a configuration source would put the old path
    back at this very start. The engine then rolls everything back by itself."""


Ask = Callable[[str], bool]


@mutable
class Context:
    plan: RelocationPlan
    journal: Journal
    controller: ServerController
    options: EngineOptions
    progress: Callable[[Progress], None] | None = None
    on_step: Callable[[StepEvent], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    ask: Ask | None = None  # for manual server control: "stop it now", answered True when done
    notes: list[Finding] = field(default_factory=list)
    _status: tuple[float, bool | None] | None = None

    def remember_status(self, status: bool | None) -> None:
        self._status = (time.monotonic(), status)

    def fresh_status(self, max_age_s: float = 2.0) -> bool | None | str:
        """The controller's answer from the last ``max_age_s``, else "ask" (each status
        runs a command: `omero admin status` starts a whole Python)."""
        if self._status is not None and time.monotonic() - self._status[0] <= max_age_s:
            return self._status[1]
        return "ask"

    @property
    def relocation_id(self) -> str:
        return self.status().id

    def status(self) -> RelocationStatus:
        return status_of(self.journal.records, str(self.journal.state_path), running=True)

    def facts(self) -> dict[str, Any]:
        return self.status().facts

    def fact(self, name: str, value: Any) -> None:
        self.journal.append({"type": "fact", "name": name, "value": value})

    def event(self, step: str, state: str, message: str) -> None:
        if self.on_step is not None:
            self.on_step(StepEvent(step, state, message))

    def note(self, severity: Severity, code: str, message: str, path: str | None = None) -> None:
        self.notes.append(Finding("relocation", severity, code, message, path))

    @contextlib.contextmanager
    def step(self, name: str, message: str) -> Iterator[None]:
        self.journal.append({"type": "step", "step": name, "state": "started"})
        self.event(name, "started", message)
        try:
            yield
        except BaseException as err:
            detail = str(err) or type(err).__name__
            self.journal.append({"type": "step", "step": name, "state": "failed", "detail": detail})
            self.event(name, "failed", detail)
            raise
        self.journal.append({"type": "step", "step": name, "state": "done"})
        self.event(name, "done", message)

    def skip(self, name: str, message: str) -> None:
        self.journal.append({"type": "step", "step": name, "state": "started"})
        self.journal.append({"type": "step", "step": name, "state": "done", "detail": message})
        self.event(name, "skipped", message)

    def end(self, outcome: str) -> None:
        self.journal.append({"type": "end", "outcome": outcome})

    def result(self, outcome: str, message: str) -> RunResult:
        return RunResult(
            self.relocation_id, outcome, message, tuple(self.notes), str(self.journal.state_path)
        )
