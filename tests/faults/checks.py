"""What "nothing lost" means, checked the same way after every fault.

Each check returns a list of problems (empty: all well) instead of asserting, so the
kill harness can run every trial, count the failures and still report them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from omero_tui.core.config.xml_file import ConfigError, parse_config
from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.batch_verifier import CHILD_MODULE
from omero_tui.core.relocation.journal import TARGET_JOURNAL_NAME, lock_is_held, read_records
from omero_tui.core.relocation.plan import build_plan
from omero_tui.core.relocation.status import find_unfinished_relocation, status_of
from tests.core.relocation.test_engine_demo import repository

BACKUP = re.compile(r"config\.xml\.bak-\d{8}T\d{6}Z(?:-\d+)?")


@dataclass
class Baseline:
    """The sandbox before the fault: what every outcome is compared with."""

    box: DemoSandbox
    target: Path
    disk: Path  # the mount the target is on (the tmpfs)
    state: Path  # omero-tui's state dir for this sandbox
    source: dict = field(default_factory=dict)
    config: bytes = b""
    grid: list[str] = field(default_factory=list)
    disk_names: list[str] = field(default_factory=list)
    disk_mtime: int = 0
    old_props: dict[str, dict[str, str]] = field(default_factory=dict)
    new_props: dict[str, dict[str, str]] = field(default_factory=dict)
    server_running: bool = True

    @classmethod
    def take(cls, box: DemoSandbox, target: Path, disk: Path, state: Path, env: dict) -> Baseline:
        base = cls(box, target, disk, state)
        base.source = repository(box.data_dir)
        base.config = box.config_path.read_bytes()
        base.grid = sorted(os.listdir(box.config_path.parent))
        base.disk_names = sorted(os.listdir(disk))
        base.disk_mtime = disk.stat().st_mtime_ns
        base.server_running = running_pid(box.server_dir) is not None
        doc = parse_config(base.config)
        base.old_props = {p: doc.properties(p) for p in doc.profile_names()}
        location = discover(server_dir_arg=str(box.server_dir), env=env, candidates=[])
        plan, _ = build_plan(location, str(target), env=env)
        profile = plan.profile or doc.stored_profile
        base.new_props = {p: dict(v) for p, v in base.old_props.items()}
        base.new_props[profile].update({c.key: c.new for c in plan.config_changes})
        return base


def journal_records(state: Path) -> list[dict]:
    found = sorted((state / "relocations").glob("*.jsonl"))
    return read_records(found[-1]) if found else []


def config_props(box: DemoSandbox) -> tuple[bytes, dict[str, dict[str, str]] | None, str]:
    data = box.config_path.read_bytes()
    try:
        doc = parse_config(data)
    except ConfigError as err:
        return data, None, str(err)
    return data, {p: doc.properties(p) for p in doc.profile_names()}, ""


def target_view(target: Path) -> dict:
    """The target as the repository sees it: the engine's journal copy left out."""
    taken = repository(target)
    taken.pop(TARGET_JOURNAL_NAME, None)
    return taken


def check_instant(base: Baseline) -> list[str]:
    """Right after a kill: config.xml whole (old or new), a new one only naming a
    complete copy, the source untouched."""
    problems = []
    data, props, error = config_props(base.box)
    if props is None:
        problems.append(f"config.xml does not parse after the kill: {error}")
    elif data != base.config and props != base.new_props:
        problems.append(f"config.xml is neither the old nor the new one: {props}")
    elif props == base.new_props and data != base.config:
        view = target_view(base.target) if base.target.is_dir() else {}
        view.pop(".", None)
        want = {k: v for k, v in base.source.items() if k != "."}
        if view != want:
            problems.append("config.xml names the target but the copy there is incomplete")
    if repository(base.box.data_dir) != base.source:
        problems.append("the source changed")
    return problems


def leftovers(base: Baseline) -> list[str]:
    """Temp, journal and lock files the engine (or OMERO's writer) left behind."""
    problems = []
    if base.target.is_dir():
        stray = [p for p in base.target.rglob(".omero-tui-*")]
        if stray:
            problems.append(f"left in the target: {[str(p) for p in stray[:3]]}")
    for name in sorted(os.listdir(base.box.config_path.parent)):
        if name in base.grid:
            continue
        path = base.box.config_path.parent / name
        if BACKUP.fullmatch(name) and path.read_bytes() == base.config:
            continue  # a backup of the original config: kept on purpose
        problems.append(f"left in etc/grid: {name}")
    if find_unfinished_relocation(base.state) is not None:
        problems.append("an unfinished relocation is still recorded")
    if lock_is_held(base.state):
        problems.append("the relocation lock is still held")
    temps = [p.name for p in base.state.rglob("*.temp")] if base.state.exists() else []
    if temps:
        problems.append(f"temporary files in the state dir: {temps}")
    strays = stray_processes(base.box.root)
    if strays:
        problems.append(f"processes left running: {strays}")
    return problems


def stray_processes(root: Path) -> list[str]:
    """Engine or verifier processes of this sandbox still alive (the server aside)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        text = " ".join(cmd)
        if str(root) in text and (CHILD_MODULE in text or "relocate" in cmd):
            found.append(f"{proc.info['pid']}: {text[:120]}")
    return found


def check_complete(base: Baseline) -> list[str]:
    """Resumed to the end: the copy is the source, config.xml names it, the server runs."""
    problems = []
    data, props, error = config_props(base.box)
    if props != base.new_props:
        problems.append(f"config.xml is not the new one ({error or props})")
    if not base.target.is_dir() or target_view(base.target) != base.source:
        problems.append("the copy is not identical to the source")
    if repository(base.box.data_dir) != base.source:
        problems.append("the source changed")
    if base.server_running and running_pid(base.box.server_dir) is None:
        problems.append("the server is not running after the resume")
    if sorted(os.listdir(base.disk)) != sorted({*base.disk_names, base.target.name}):
        problems.append(f"the disk holds {sorted(os.listdir(base.disk))}")
    return problems + leftovers(base)


def check_original(base: Baseline) -> list[str]:
    """Rolled back (or never begun): exactly the starting state."""
    problems = []
    if base.box.config_path.read_bytes() != base.config:
        problems.append("config.xml is not the original, byte for byte")
    if sorted(os.listdir(base.box.config_path.parent)) != base.grid:
        problems.append(f"etc/grid holds {sorted(os.listdir(base.box.config_path.parent))}")
    if sorted(os.listdir(base.disk)) != base.disk_names:
        problems.append(f"the disk holds {sorted(os.listdir(base.disk))}")
    elif base.disk.stat().st_mtime_ns != base.disk_mtime:
        problems.append("the disk's root lost its modification time")
    if repository(base.box.data_dir) != base.source:
        problems.append("the source changed")
    if base.server_running and running_pid(base.box.server_dir) is None:
        problems.append("the server is not running again on the old location")
    return problems + leftovers(base)


def journal_state(state: Path) -> str:
    """ "none", or the state of the newest journal ("interrupted", "complete", ...)."""
    found = sorted((state / "relocations").glob("*.jsonl"))
    if not found:
        return "none"
    return status_of(read_records(found[-1]), str(found[-1])).state
