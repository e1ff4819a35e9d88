"""A frozen relocation for the wizard's snapshots: the same words, figures and pages on
every machine.

The plan comes from the real ``prepare_relocation`` on the demo sandbox; what differs
between machines is frozen: the target's filesystem (a copy to another volume, with
fixed free space) and the preflight's figures. The run is a script of the events the
real engine reports (same shapes, same wording), which holds at the page a snapshot
wants; its config step really rewrites the sandbox's config.xml, so the diff is real.
"""

from __future__ import annotations

import threading
from pathlib import Path

from omero_tui.core.config.xml_file import write_config
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.record import replace
from omero_tui.core.relocation.checks import PreflightReport, passed, warn
from omero_tui.core.relocation.engine import EngineOptions, prepare_relocation
from omero_tui.core.relocation.engine_context import RunResult, StepEvent
from omero_tui.core.relocation.plan import with_scan
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.core.relocation.target_choice import TargetChoice
from omero_tui.tui.wizard.source import WizardSource

TARGET = "/mnt/omero-new/OMERO"
GIB, MIB = 1 << 30, 1 << 20
RELOCATION_ID = "20261123T120000Z-5e1f2a"
HOLD_S = 20.0  # a held script lets go by itself, so no worker thread outlives a test


def frozen_choice(text: str) -> TargetChoice:
    if text.rstrip("/") != TARGET:
        return TargetChoice(text, None, f"{text} is a relative path; give the full path")
    return TargetChoice(
        text,
        TARGET,
        None,
        state="does not exist yet (it will be created)",
        existing="/mnt/omero-new",
        filesystem="ext4 at /mnt/omero-new",
        fs_kind="local",
        free_bytes=812 * GIB,
        total_bytes=1024 * GIB,
    )


def frozen_prepare(location, target, what="data", *, options, **kwargs):  # noqa: ANN001, ANN003, ANN201
    options = replace(options, probe_locks=False)  # the probe would touch /mnt
    prepared = prepare_relocation(location, target, what, options=options, **kwargs)
    plan = replace(
        prepared.plan,
        method="copy",
        method_why="the target is on ext4 at /mnt/omero-new: everything is copied and verified",
    )
    checks = (
        passed("relocation.space", "9.6 MiB to copy (with a 5% margin); 812 GiB free on "
               "/mnt/omero-new", TARGET),
        passed("relocation.inodes", "1,363 inodes needed; 53,412,866 free", TARGET),
        passed("relocation.fstype", "ext4 at /mnt/omero-new: a local filesystem with "
               "trusted locking", TARGET),
        passed("relocation.locks", "flock and fcntl probes passed in /mnt/omero-new "
               "(0.3 ms hand-over)", TARGET),
        passed("relocation.identity", "repository identity 9494b4d3-de49-4f79-8451-f530e73b70b3 "
               "will move with the data"),
        passed("relocation.access", "the server user root can write /mnt/omero-new"),
        warn("relocation.ansible", "config/omero-web.omero exists: `omero load` at the next "
             "deploy may set omero.data.dir back; change it there too"),
    )  # fmt: skip
    # What the demo occupies depends on the filesystem the snapshot runs on: frozen.
    scan = replace(prepared.scan, allocated_bytes=14_868_480)
    return replace(
        prepared, plan=with_scan(plan, scan), scan=scan, preflight=PreflightReport(checks)
    )


HOLD_AT = ("stop", "move", "config", "start", "problem")


class ScriptedEngine:
    """``run`` replays the engine's events and holds at ``hold`` (one of HOLD_AT)."""

    def __init__(self, config_path: Path, hold: str | None) -> None:
        self.config_path = config_path
        self.hold = hold
        self.held = threading.Event()

    def _hold(self, page: str, cancel: threading.Event) -> None:
        if self.hold == page:
            self.held.set()
            cancel.wait(HOLD_S)

    def run(self, prepared, *, progress, on_step, cancel, **_):  # noqa: ANN001, ANN003, ANN201
        plan = prepared.plan

        def step(name: str, state: str, message: str) -> None:
            on_step(StepEvent(name, state, message))

        stop = f"stopping the server ({plan.controller})"
        step("stop", "started", stop)
        self._hold("stop", cancel)
        step("stop", "info", "status says stopped, no server process is alive and no process "
             "has a file open under the repository")  # fmt: skip
        step("stop", "done", stop)
        step("prepare", "started", f"preparing {plan.target}")
        step("prepare", "done", f"preparing {plan.target}")
        copying = f"copying {plan.source_real} to {plan.target}"
        step("copy", "started", copying)
        progress(Progress("copy", "copying", 4_135_000, 10_066_329, 512, 1_363, 3.1 * MIB, 1.9))
        self._hold("move", cancel)
        if self.hold == "problem":
            step("copy", "failed", "cancelled at a safe point")
            return RunResult(
                RELOCATION_ID,
                "cancelled",
                "cancelled at a safe point; run `omero-tui relocate --resume` to continue "
                "or `--rollback` to undo",
            )
        progress(Progress("copy", "copying", 10_066_329, 10_066_329, 1_363, 1_363, 3.2 * MIB, 0))
        step("copy", "done", copying)
        step("verify", "started", f"comparing {plan.target} with the source")
        step("verify", "info", "1,363 entries compared: names, kinds, sizes, owners, modes, "
             "times and links all equal")  # fmt: skip
        step("verify", "done", f"comparing {plan.target} with the source")
        step("config", "started", f"updating {plan.config_path}")
        write_config(self.config_path, {c.key: c.new for c in plan.config_changes}, env={})
        step("config", "done", f"updating {plan.config_path}")
        self._hold("config", cancel)
        step("start", "started", "starting the server on the new location")
        self._hold("start", cancel)
        step("start", "info", f"the server holds its repository lock in {plan.target}; "
             "Blitz-0.log says 'Data directory moved'")  # fmt: skip
        step("start", "done", "starting the server on the new location")
        step("finish", "started", "finishing")
        step("finish", "done", "finishing")
        moved = (
            "OMERO noticed the move and logged: 2026-11-23 12:00:41,095 WARN  [me.services."
            f"blitz.repo.LegacyRepositoryI] (      main) Data directory moved: {plan.source} "
            f"updated to {plan.target}"
        )
        return RunResult(
            RELOCATION_ID,
            "complete",
            f"moved {plan.source} to {plan.target}; {plan.source} is kept until "
            "`omero-tui relocate --remove-source`",
            notes=(Finding("relocation", Severity.INFO, "relocation.server_moved_line", moved),),
        )


def interrupted(prepared_plan_json: dict) -> RelocationStatus:
    return RelocationStatus(
        id=RELOCATION_ID,
        journal_path=f"/var/lib/omero-tui/relocations/{RELOCATION_ID}.jsonl",
        plan=prepared_plan_json,
        state="interrupted",
        steps_done=("stop", "prepare"),
        steps_started=("stop", "prepare", "copy"),
        current_step="copy",
        failure="cancelled at a safe point",
        copied_upto=512,
        copied_entries=512,
        copied_bytes=4_135_000,
    )


def frozen_source(engine: ScriptedEngine, state: Path, status_box: list) -> WizardSource:
    """``status_box`` holds the unfinished status the problem page and prompt will see."""
    return WizardSource(
        options=EngineOptions(state_dir=state, env={}, probe_locks=False),
        prepare=frozen_prepare,
        run=engine.run,
        choice=frozen_choice,
        unfinished_lookup=lambda _state: status_box[0] if status_box else None,
        latest_lookup=lambda _state: None,
    )
