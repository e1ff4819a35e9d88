"""Rollback: give back exactly the state before the relocation began.

config.xml gets its original bytes back (kept in the journal, not re-rendered), the
backup the rewrite made is removed when it holds those same bytes, the copy is removed
from the target (only what the engine created), a pre-existing target directory gets
its owner, mode and times back, and the parent directories the engine made are
removed. A rename is undone by renaming back. The server is stopped first when it may
be running on the new location, and started again if it was running before.

Refused once the server has started on the new location (the start step done, or the
relocation complete): whatever it wrote there exists nowhere else. Before that, an
entry of the target that is no longer the engine's copy (a failed start may have let a
server write) is kept and reported. The parents of the target (and, for a rename, of the
source) get their times back. Re-runnable: a rollback killed half way is finished by
running it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from omero_tui.core.config.xml_file import (
    ConfigError,
)
from omero_tui.core.relocation.engine import exclusive_relocation, reopen
from omero_tui.core.relocation.engine_context import (
    Ask,
    EngineOptions,
    RunResult,
    StepEvent,
    StepFailed,
)
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.rollback_steps import left_text, roll_back
from omero_tui.core.relocation.source_stamps import remove_stamps
from omero_tui.core.relocation.status import RelocationStatus, find_unfinished_relocation
from omero_tui.core.server.control import ServerController
from omero_tui.core.settings import Settings


def rollback_relocation(
    status: RelocationStatus | None = None,
    *,
    settings: Settings | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
    controller: ServerController | None = None,
    progress: Callable[[Progress], None] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    cancel: threading.Event | None = None,
    ask: Ask | None = None,
) -> RunResult:
    with exclusive_relocation(options.state_dir):
        status = status or find_unfinished_relocation(options.state_dir)
        if status is None:
            raise RelocationRefused(
                "relocation.nothing_to_roll_back", "no unfinished relocation to roll back"
            )
        check_rollback_allowed(status)
        ctx = reopen(status, settings, options, controller, progress, on_step, cancel, ask)
        try:
            with ctx.step("rollback", f"rolling back relocation {status.id}"):
                left = roll_back(ctx, status)
                if left:
                    raise StepFailed(left_text(ctx, left))
        except (StepFailed, OSError, ConfigError) as err:
            detail = str(err)
            if isinstance(err, OSError):
                where = err.filename if isinstance(err.filename, str) else status.target
                detail = f"{err.strerror or err} ({where})"
            return ctx.result(
                "failed", f"rollback incomplete: {detail}; fix that and run --rollback again"
            )
        remove_stamps(ctx.journal.state_path)
        ctx.end("rolled back")
        message = f"rolled back: config.xml restored and {status.target} removed"
        if ctx.plan.method == "rename":
            message = f"rolled back: config.xml restored and {status.target} renamed back"
        return ctx.result("rolled back", message)


def check_rollback_allowed(status: RelocationStatus) -> None:
    """RelocationRefused (one line) when this relocation must not be rolled back."""
    if status.state in ("complete", "source removed"):
        raise RelocationRefused(
            "relocation.rollback_complete",
            f"relocation {status.id} is {status.state} and the server has run on "
            f"{status.target} since; rolling back would lose what it wrote there",
        )
    if status.done("start") and status.facts.get("server_was_running"):
        raise RelocationRefused(
            "relocation.rollback_started_there",
            f"the server has already run on {status.target} in relocation "
            f"{status.id}; rolling back could lose what it wrote there: run "
            "`omero-tui relocate --resume` to finish",
        )
    if status.state in ("rolled back", "aborted"):
        raise RelocationRefused(
            "relocation.rollback_nothing", f"relocation {status.id} is {status.state}"
        )
