"""Kill anywhere: SIGKILL a real ``omero-tui relocate`` at a chosen instant, recover, check.

A trial builds a fresh demo sandbox with the hostile repository (``repo_gen``), mounts a
tmpfs as the other disk, starts the relocation and kills it (and its verifier) with
SIGKILL, in one of two ways:

- "event": through ``paused_cli``, frozen right before the J-th changing operation of a
  step (exact, and the only way to land inside a rewrite that takes milliseconds);
- "timer": the plain ``python -m omero_tui`` CLI, killed a random delay after its
  ``--json`` stream announced the step (what a power cut does: no choice of instant).

Then ``--resume`` or ``--rollback`` (in some trials killed once more, the same way) and
the checks of ``checks.py``: at the instant of each kill and at the end.
Every choice comes from the trial's seed, printed, so a failure can be replayed alone.
"""

from __future__ import annotations

import random
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.relocation.copy_tree import TESTONLY_BATCH_FILES_ENV
from omero_tui.core.relocation.status import status_of
from tests.core.relocation.helpers import mount_tmpfs, unmount
from tests.faults.checks import (
    Baseline,
    check_complete,
    check_instant,
    check_original,
    journal_records,
    journal_state,
)
from tests.faults.kill_runner import Kill, Runner
from tests.faults.repo_gen import generate

STEPS = ("stop", "prepare", "copy", "verify", "config", "start", "finish")
# The phases a trial aims at, in turn: the five of the issue first and most often.
AIMS = ("copy", "config", "stop", "verify", "start", "copy", "config", "finish", "prepare",
        "start-of-run", "start", "stop")  # fmt: skip
TIMER_ONLY = ("verify",)  # it reads, and changes almost nothing: only a timer lands inside
# Rough sizes, used when no reference run measured them: changing operations per step
# (event trials) and seconds per step (timer trials).
EVENTS = {"start-of-run": 30, "stop": 8, "prepare": 8, "verify": 4, "config": 16,
          "start": 12, "finish": 6}  # fmt: skip
SECONDS = {"start-of-run": 4.0, "stop": 0.6, "prepare": 0.02, "copy": 0.4, "verify": 0.5,
           "config": 0.02, "start": 0.8, "finish": 0.02}  # fmt: skip


@dataclass
class Trial:
    number: int
    seed: int
    first: Kill
    recovery: str  # "resume" | "rollback": what the admin chooses after the first kill
    second: Kill | None = None  # a kill during that recovery
    final: str = ""  # how it ended: "complete" | "rolled back" | "untouched"
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    counts: dict[str, dict[str, float]] = field(default_factory=dict)  # the reference run

    def describe(self) -> str:
        second = (
            f", second {self.second.how}@{self.second.aim}#{self.second.at:g}"
            if (self.second)
            else ""
        )
        return (f"trial {self.number} seed={self.seed}: {self.first.how}@{self.first.aim}"
                f"#{self.first.at:g} then {self.recovery}{second}")  # fmt: skip


def plan_trial(
    number: int, master_seed: int, files: int, measured: dict[str, dict[str, float]]
) -> Trial:
    """The trial's choices, from its seed; ``measured``: the reference run's figures."""
    seed = master_seed * 1000 + number
    rng = random.Random(seed)
    aim = AIMS[(number - 1) % len(AIMS)]
    how = "timer" if aim in TIMER_ONLY or rng.random() < 0.3 else "event"
    first = _kill(rng, how, aim, files, measured)
    recovery = "rollback" if rng.random() < 0.35 else "resume"
    second = None
    if rng.random() < 0.3:
        second_aim = "rollback" if recovery == "rollback" else rng.choice(STEPS[:6])
        second = _kill(rng, "event", second_aim, files, measured)
    return Trial(number, seed, first, recovery, second)


def _kill(
    rng: random.Random, how: str, aim: str, files: int, measured: dict[str, dict[str, float]]
) -> Kill:
    if how == "timer":
        took = measured.get("seconds", {}).get(aim) or SECONDS.get(aim, 1.0)
        return Kill(how, aim, round(rng.uniform(0, took), 3))
    sized = {"copy": 5 * files, "rollback": 2 * files + 20}
    budget = int(measured.get("counts", {}).get(aim) or sized.get(aim) or EVENTS.get(aim, 10))
    return Kill(how, aim, rng.randrange(max(1, budget)))


def landed_in(records: list[dict]) -> str:
    """Where the journal says the process was when it died."""
    if not any(r.get("type") == "begin" for r in records):
        return "preflight"
    status = status_of(records, "journal")
    if status.state in ("complete", "rolled back", "aborted", "source removed"):
        return f"after the end ({status.state})"
    if status.current_step:
        return status.current_step
    if status.steps_started:
        return f"{status.steps_started[-1]} (between steps)"
    return "begin"


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


def run_trial(trial: Trial, where: Path, files: int) -> Trial:
    """Run one trial to its end; problems are collected, not raised."""
    began = time.monotonic()
    where.mkdir(parents=True, exist_ok=True)
    try:
        with DemoSession(where / "demo", start_server=False) as session:
            box = session.sandbox
            generate(box.data_dir, seed=trial.seed, files=files)
            assert session.start(), session.start_error
            disk = box.second_volume / "disk"
            mount_tmpfs(disk, "size=256m")
            try:
                _trial_in(trial, session, disk, where)
            finally:
                unmount(disk)  # lazily: the session then stops its server
    except Exception:  # noqa: BLE001 - a broken trial is a failure to report, not a crash
        trial.problems.append("trial crashed: " + traceback.format_exc(limit=6))
    trial.seconds = round(time.monotonic() - began, 2)
    return trial


def _trial_in(trial: Trial, session: DemoSession, disk: Path, where: Path) -> None:
    box = session.sandbox
    state_home = where / "state"
    env = {
        **session.env,
        "XDG_STATE_HOME": str(state_home),
        "XDG_CONFIG_HOME": str(where / "config"),
        "OMERO_TUI_TESTONLY_START_SETTLE_S": "0.2",
        TESTONLY_BATCH_FILES_ENV: "250",  # several batches: several commit points to hit
    }
    state = state_home / "omero-tui"
    target = disk / "OMERO"
    base = Baseline.take(box, target, disk, state, env)
    logs = where / "logs"
    logs.mkdir(exist_ok=True)
    runner = Runner(session, env, logs)
    if trial.first.how == "none":  # the reference run: not killed, its operations counted
        trial.counts, rc = runner.count_events(["--to", str(target), "--yes", "--json"])
        trial.final = journal_state(state)
        if rc != 0 or trial.final != "complete":
            trial.problems.append(f"the reference run ended {trial.final} (exit {rc})")
        trial.problems += check_complete(base)
        return
    runner.killed(["--to", str(target), "--yes", "--json"], trial.first)
    trial.first.landed = landed_in(journal_records(state))
    trial.problems += [f"after the first kill: {p}" for p in check_instant(base)]
    _recover(trial, runner, base, state)


def _recover(trial: Trial, runner: Runner, base: Baseline, state: Path) -> None:
    status = journal_state(state)
    if status in ("none", "aborted"):  # killed before anything was begun
        done = runner.run(["--resume", "--yes"])
        if done.returncode != 1 or "no interrupted relocation" not in done.stderr:
            trial.problems.append(f"--resume with nothing to resume: {done.stderr.strip()}")
        trial.final = "untouched"
        trial.problems += check_original(base)
        return
    if status == "complete":  # killed after its last record
        trial.final = "complete"
        trial.problems += check_complete(base)
        return
    choice = trial.recovery
    records = journal_records(state)
    st = status_of(records, "journal")
    if choice == "rollback" and st.done("start") and st.facts.get("server_was_running"):
        refused = runner.run(["--rollback", "--yes"])
        if (
            refused.returncode != 1
            or not one_line(refused.stderr)
            or ("--resume" not in refused.stderr)
        ):
            trial.problems.append(f"rollback after the start: {refused.stderr.strip()!r}")
        trial.notes.append("rollback refused (the server had run there): resumed")
        choice = "resume"
    if trial.second is not None:
        remaining = [s for s in STEPS[:6] if not st.done(s) or s == "stop"]
        if choice == "rollback":
            trial.second.aim = "rollback"
        elif trial.second.aim not in remaining:  # a step already done is not run again
            trial.second.aim = random.Random(trial.seed + 1).choice(remaining)
        runner.killed([f"--{choice}", "--yes", "--json"], trial.second)
        if trial.second.happened:
            trial.second.landed = landed_in(journal_records(state))
            trial.problems += [f"after the second kill: {p}" for p in check_instant(base)]
        after = status_of(journal_records(state), "journal")
        if after.state in ("complete", "rolled back"):  # it ended before the second kill
            trial.final = after.state
            choice = "done"
        elif after.started("rollback"):
            choice = "rollback"  # a rollback begun must be finished as one
    if choice != "done":
        done = runner.run([f"--{choice}", "--yes"])
        word = "COMPLETE" if choice == "resume" else "ROLLED BACK"
        if done.returncode != 0 or word not in done.stdout:
            trial.problems.append(f"--{choice} failed ({done.returncode}): {done.stderr.strip()}")
        trial.final = "complete" if choice == "resume" else "rolled back"
    trial.problems += check_complete(base) if trial.final == "complete" else check_original(base)


def summary(trials: list[Trial], **extra: object) -> dict[str, object]:
    kills = [t.first for t in trials if t.first.happened]
    seconds = [t.second for t in trials if t.second is not None and t.second.happened]

    def per_phase(items: list[Kill]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in items:
            key = item.landed.split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    failed = [t for t in trials if t.problems]
    return {
        **extra,
        "trials": len(trials),
        "kills": len(kills) + len(seconds),
        "first_kills": len(kills),
        "second_kills": len(seconds),
        "kills_per_phase": per_phase(kills),
        "second_kills_per_phase": per_phase(seconds),
        "kills_by_method": {
            "event": sum(1 for k in [*kills, *seconds] if k.how == "event"),
            "timer": sum(1 for k in [*kills, *seconds] if k.how == "timer"),
        },
        "endings": {
            e: sum(1 for t in trials if t.final == e) for e in sorted({t.final for t in trials})
        },  # fmt: skip
        "failures": len(failed),
        "failed_trials": [{"trial": t.describe(), "problems": t.problems} for t in failed],
        "detail": [asdict(t) for t in trials],
    }
