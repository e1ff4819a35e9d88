"""The whole procedure on the demo sandbox: its stand-in server really stops and starts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import FAULTS_FILE
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.record import replace
from omero_tui.core.relocation.engine import prepare_relocation, resume_relocation, run_relocation
from omero_tui.core.relocation.engine_context import EngineOptions, RunResult, StepEvent
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.remove_source import remove_source
from omero_tui.core.relocation.rollback import rollback_relocation
from omero_tui.core.relocation.status import find_unfinished_relocation, latest_relocation
from omero_tui.core.server.control import choose_controller
from omero_tui.core.server.state import prove_stopped
from tests.core.relocation.helpers import mount_tmpfs, snapshot, unmount

LOCK_DIRS = re.compile(r"^(ManagedRepository/)?\.omero/repository/[^/]+$")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DemoSession]:
    with DemoSession(tmp_path / "demo") as running:
        yield running


@pytest.fixture
def stopped_session(tmp_path: Path) -> Iterator[DemoSession]:
    """The sandbox with its stand-in not running: the engine then neither stops nor starts."""
    with DemoSession(tmp_path / "demo", start_server=False) as idle:
        yield idle


def options(session: DemoSession, state_dir: Path, **changes: object) -> EngineOptions:
    base = EngineOptions(
        state_dir=state_dir,
        env=session.env,
        probe_locks=False,
        stop_timeout_s=20,
        start_timeout_s=20,
        start_settle_s=0.3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def relocate(
    session: DemoSession, target: Path, opts: EngineOptions, what: str = "data"
) -> tuple[RunResult, list[StepEvent]]:
    location = discover(
        server_dir_arg=str(session.sandbox.server_dir), env=session.env, candidates=[]
    )
    prepared = prepare_relocation(location, str(target), what, options=opts)
    assert prepared.preflight.ok, prepared.preflight.failures
    events: list[StepEvent] = []
    return run_relocation(prepared, options=opts, on_step=events.append), events


def repository(root: Path) -> dict:
    """A snapshot, minus what a run of the server itself changes: its ``.lock`` files and
    the mtime of the directories holding them (created at start, deleted at stop)."""
    taken = snapshot(root, skip=("FullText/write.lock",))
    return {
        k: (v if not LOCK_DIRS.match(k) else v[:5] + v[6:])
        for k, v in taken.items()
        if not (k.endswith("/.lock") and LOCK_DIRS.match(k.rsplit("/", 1)[0]))
    }


def data_dir_in_config(session: DemoSession) -> str:
    location = discover(
        server_dir_arg=str(session.sandbox.server_dir), env=session.env, candidates=[]
    )
    return location.data_dir.value or ""


def faults(session: DemoSession, **flags: object) -> None:
    (session.sandbox.server_dir / FAULTS_FILE).write_text(json.dumps(flags))


def test_same_filesystem_move_is_one_rename(stopped_session: DemoSession, state_dir: Path) -> None:
    session = stopped_session
    box = session.sandbox
    before = repository(box.data_dir)
    identity = read_identity(box.data_dir, "data dir").entries
    target = box.second_volume / "OMERO"
    result, events = relocate(session, target, options(session, state_dir))
    assert result.outcome == "complete", result.message
    assert "rename" in [e.step for e in events] and "copy" not in [e.step for e in events]
    assert not box.data_dir.exists()
    assert data_dir_in_config(session) == str(target)
    assert read_identity(target, "data dir").entries[0].repo_uuid == identity[0].repo_uuid
    assert [e.message for e in events if e.step == "start"] == [
        "the server was not running before, so it is left stopped"
    ]
    assert repository(target) == before
    # The Overview and `check` say what is true of a rename: no old copy to remove.
    from omero_tui.core.health.areas import relocation_area

    area, _ = relocation_area(state_dir)
    assert area.headline == (
        f"The last relocation is complete: {box.data_dir} was renamed to {target}; "
        "no old copy is left."
    ), area.headline


def test_cross_filesystem_move_keeps_everything_then_removes_the_source(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    disk = box.second_volume / "disk"
    mount_tmpfs(disk)
    try:
        before = repository(box.data_dir)
        original_config = box.config_path.read_bytes()
        target = disk / "OMERO"
        result, events = relocate(session, target, options(session, state_dir))
        assert result.outcome == "complete", result.message
        assert "copy" in [e.step for e in events]
        assert data_dir_in_config(session) == str(target)
        assert any(n.code == "relocation.server_moved_line" for n in result.notes)
        assert any(n.code == "relocation.bioformats_cache" for n in result.notes)
        backups = list(box.config_path.parent.glob("config.xml.bak-*"))
        assert [b.read_bytes() for b in backups] == [original_config]
        session.stop()
        assert repository(target) == before  # content, modes, owners, ns times, links
        assert repository(box.data_dir) == before  # the source is untouched

        with pytest.raises(RelocationRefused, match="not running"):
            remove_source(options=options(session, state_dir))
        assert session.start()
        (box.data_dir / "Files" / "1").write_bytes(b"changed after the move")
        with pytest.raises(RelocationRefused, match="nothing was deleted"):
            remove_source(options=options(session, state_dir))
        (box.data_dir / "Files" / "1").unlink()  # gone from the source is no loss
        removed = remove_source(options=options(session, state_dir))
        assert removed.outcome == "source removed", removed.message
        assert not box.data_dir.exists()
        status = latest_relocation(state_dir)
        assert status is not None and status.state == "source removed"
    finally:
        unmount(disk)  # lazily: the session stops its server after the test


def test_a_server_that_will_not_stop_halts_before_any_data_moves(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    controller = choose_controller(str(box.server_dir), env=session.env)
    running = prove_stopped(controller, str(box.server_dir), [str(box.data_dir)])
    assert not running.stopped and running.status is True
    assert running.processes and running.open_files  # the stand-in keeps files open
    faults(session, refuse_stop=True)
    config = box.config_path.read_bytes()
    try:
        result, events = relocate(session, box.second_volume / "OMERO", options(session, state_dir))
    finally:
        faults(session)
    assert result.outcome == "aborted"
    assert "did not stop" in result.message and "nothing was moved" in result.message
    assert [e.step for e in events if e.state == "started"] == ["stop"]
    assert box.data_dir.is_dir() and not (box.second_volume / "OMERO").exists()
    assert box.config_path.read_bytes() == config
    assert find_unfinished_relocation(state_dir) is None
    assert session.omero("admin", "stop").returncode == 0
    stopped = prove_stopped(controller, str(box.server_dir), [str(box.data_dir)])
    assert stopped.stopped, stopped.reason


def test_a_failed_start_rolls_back_to_exactly_the_start(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    disk = box.second_volume / "disk"
    mount_tmpfs(disk)
    try:
        config = box.config_path.read_bytes()
        before = repository(box.data_dir)
        faults(session, die_on_start=True)
        # The demo fault die_on_start dies 0.5 s after coming up: look for longer.
        opts = options(session, state_dir, start_settle_s=1.5)
        result, _ = relocate(session, disk / "OMERO", opts)
        assert result.outcome == "failed", result.message
        status = find_unfinished_relocation(state_dir)
        assert status is not None and status.current_step == "start"
        faults(session)
        with pytest.raises(RelocationRefused, match="only the source of a complete"):
            remove_source(options=options(session, state_dir))
        rolled = rollback_relocation(options=options(session, state_dir))
        assert rolled.outcome == "rolled back", rolled.message
        assert box.config_path.read_bytes() == config
        assert list(box.config_path.parent.glob("config.xml.bak-*")) == []
        assert sorted(p.name for p in disk.iterdir()) == []
        assert running_pid(box.server_dir) is not None  # back on the old location
        assert repository(box.data_dir) == before
    finally:
        unmount(disk)  # lazily: the session stops its server after the test


@pytest.mark.slow
def test_a_failed_start_is_resumed(session: DemoSession, state_dir: Path) -> None:
    box = session.sandbox
    faults(session, die_on_start=True)
    target = box.second_volume / "OMERO"
    result, _ = relocate(session, target, options(session, state_dir, start_settle_s=1.5))
    assert result.outcome == "failed", result.message
    faults(session)
    resumed = resume_relocation(options=options(session, state_dir))
    assert resumed.outcome == "complete", resumed.message
    assert data_dir_in_config(session) == str(target)
    assert running_pid(box.server_dir) is not None


def test_config_lock_held_by_another_process(stopped_session: DemoSession, state_dir: Path) -> None:
    """Taken after the preflight (which refuses while it is held, see test_preflight)."""
    session = stopped_session
    box = session.sandbox
    config = box.config_path.read_bytes()
    opts = options(session, state_dir, lock_timeout_s=0.5)
    location = discover(server_dir_arg=str(box.server_dir), env=session.env, candidates=[])
    prepared = prepare_relocation(location, str(box.second_volume / "OMERO"), options=opts)
    assert prepared.preflight.ok, prepared.preflight.failures
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from omero_tui.core.config.lock import exclusive_lock\n"
            "with exclusive_lock(Path(sys.argv[1]), 5):\n"
            "    print('held', flush=True); sys.stdin.readline()",
            str(box.config_path) + ".lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = run_relocation(prepared, options=opts)
        assert result.outcome == "failed"
        assert f"held by pid {holder.pid}" in result.message
        assert box.config_path.read_bytes() == config
    finally:
        holder.communicate("\n", timeout=10)
    rolled = rollback_relocation(options=options(session, state_dir))
    assert rolled.outcome == "rolled back", rolled.message
    assert box.data_dir.is_dir() and not (box.second_volume / "OMERO").exists()
    assert box.config_path.read_bytes() == config
    assert running_pid(box.server_dir) is None  # left as it was: stopped
