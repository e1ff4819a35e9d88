"""What a journal says: where a relocation stands and what may be done next.

``find_unfinished_relocation()`` is what the console asks at start-up (and what the
wizard shows): a relocation that was interrupted must be resumed or rolled back before
anything else touches the repository.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from omero_tui.core.record import field, frozen
from omero_tui.core.relocation.journal import (
    TARGET_JOURNAL_NAME,
    JournalError,
    lock_is_held,
    read_records,
    relocations_dir,
)

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

# States: "running" (its process holds the lock), "interrupted" (must be resumed or rolled
# back), "complete" (moved, started, source kept), "source removed", "rolled back",
# "aborted" (stopped before anything was changed).
FINISHED = ("complete", "source removed", "rolled back", "aborted")


@frozen
class RelocationStatus:
    id: str
    journal_path: str
    plan: dict[str, Any]
    state: str
    steps_done: tuple[str, ...]
    steps_started: tuple[str, ...]
    current_step: str | None  # started and not done
    failure: str | None  # the last failure, one line
    facts: dict[str, Any] = field(default_factory=dict)
    copied_upto: int = 0  # scan entries before this index are copied and verified
    copied_entries: int = 0
    copied_bytes: int = 0
    began: str = ""
    updated: str = ""

    @property
    def unfinished(self) -> bool:
        return self.state in ("running", "interrupted")

    @property
    def source(self) -> str:
        return str(self.plan.get("source", ""))

    @property
    def target(self) -> str:
        return str(self.plan.get("target", ""))

    def started(self, step: str) -> bool:
        return step in self.steps_started

    def done(self, step: str) -> bool:
        return step in self.steps_done

    def server_held(self) -> str | None:
        """Why the server is stopped, when this unfinished relocation stopped it; else None.

        One sentence for the wizard, the Overview and ``check``: a stopped server with an
        unfinished journal is not "idle for maintenance", it waits for a decision."""
        if not self.unfinished or not self.done("stop") or self.done("start"):
            return None
        if "cancel" in (self.failure or "").lower():
            how = "was cancelled"
        elif self.failure:
            how = f"failed ({self.failure})"
        else:
            how = "was interrupted"
        where = f" at '{self.current_step}'" if self.current_step else ""
        return (
            f"The server is stopped: relocation {self.id} stopped it and {how}{where}. "
            "It stays stopped until the relocation is resumed (which starts it again) "
            "or rolled back."
        )

    def describe(self) -> str:
        """One line: what happened and what to do."""
        what = f"relocation {self.id} of {self.source} to {self.target}"
        if self.state == "interrupted":
            step = self.current_step or "between steps"
            why = f": {self.failure}" if self.failure else ""
            return (
                f"{what} was interrupted at '{step}'{why}; "
                "run `omero-tui relocate --resume` or `--rollback`"
            )
        if self.state == "running":
            return f"{what} is running now (step '{self.current_step or '?'}')"
        return f"{what}: {self.state}"


def status_of(
    records: list[dict[str, Any]], journal_path: str, running: bool = False
) -> RelocationStatus:
    plan: dict[str, Any] = {}
    rid = ""
    done: list[str] = []
    started: list[str] = []
    current: str | None = None
    failure: str | None = None
    facts: dict[str, Any] = {}
    upto = entries = data = 0
    outcome: str | None = None
    for record in records:
        kind = record.get("type")
        if kind == "begin":
            plan = dict(record.get("plan") or {})
            rid = str(record.get("id", ""))
        elif kind == "step":
            name, state = str(record.get("step")), record.get("state")
            if state == "started":
                current = name
                started.append(name)
                failure = None
            elif state == "done":
                done.append(name)
                current = None if current == name else current
            elif state == "failed":
                failure = str(record.get("detail") or "failed")
        elif kind == "fact":
            facts[str(record.get("name"))] = record.get("value")
        elif kind == "batch":
            upto = int(record.get("upto", upto))
            entries += int(record.get("entries", 0))
            data += int(record.get("bytes", 0))
        elif kind == "end":
            outcome = str(record.get("outcome"))
        elif kind == "reopen":
            outcome = None  # a rollback of a finished relocation, or a retried step
    state = outcome if outcome is not None else "running" if running else "interrupted"
    if not plan and outcome is None and not running:
        # Killed between creating the journal and writing its first record (or that
        # record was torn): nothing was done yet, and there is no plan to act on.
        state = "aborted"
    return RelocationStatus(
        id=rid or Path(journal_path).stem,
        journal_path=journal_path,
        plan=plan,
        state=state,
        steps_done=tuple(done),
        steps_started=tuple(started),
        current_step=current,
        failure=failure,
        facts=facts,
        copied_upto=upto,
        copied_entries=entries,
        copied_bytes=data,
        began=str(records[0].get("t", "")) if records else "",
        updated=str(records[-1].get("t", "")) if records else "",
    )


def list_relocations(state_dir: Path | None = None) -> list[RelocationStatus]:
    """Every journal in the state dir, newest first (ids sort by time)."""
    folder = relocations_dir(state_dir)
    if not folder.is_dir():
        return []
    running = lock_is_held(state_dir)
    found = []
    for path in sorted(folder.glob("*.jsonl"), reverse=True):
        with contextlib.suppress(JournalError):
            found.append(status_of(read_records(path), str(path), running=False))
    # Only the newest unfinished one can be the running one.
    for index, status in enumerate(found):
        if status.state == "interrupted":
            if running:
                found[index] = status_of(
                    read_records(Path(status.journal_path)), status.journal_path, running=True
                )
            break
    return found


def find_unfinished_relocation(state_dir: Path | None = None) -> RelocationStatus | None:
    """The relocation that must be resumed or rolled back (or is running), if any."""
    return next((s for s in list_relocations(state_dir) if s.unfinished), None)


def latest_relocation(state_dir: Path | None = None) -> RelocationStatus | None:
    relocations = list_relocations(state_dir)
    return relocations[0] if relocations else None


def target_journal(target: str) -> Path | None:
    """The journal copy a copy leaves in its target, when there is one."""
    path = Path(target) / TARGET_JOURNAL_NAME
    return path if path.is_file() else None


def adopt_target_journal(target: str, state_dir: Path | None = None) -> RelocationStatus | None:
    """Take back the journal a copy keeps in its target, when the state dir lost its own
    (another admin account, a wiped home): the target still says what happened there."""
    path = target_journal(target)
    if path is None:
        return None
    records = read_records(path)
    begin = next((r for r in records if r.get("type") == "begin"), None)
    if begin is None:
        return None
    folder = relocations_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    copy = folder / f"{begin.get('id') or 'adopted'}.jsonl"
    if not copy.exists():
        data = path.read_bytes()
        temp = copy.with_name(copy.name + ".temp")
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, copy)
    return status_of(read_records(copy), str(copy))
