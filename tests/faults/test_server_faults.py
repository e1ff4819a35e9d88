"""A server that will not stop, dies as it starts, or a process that keeps a file open
under the repository: the engine halts at the right step, and the journal says so."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.engine import prepare_relocation, run_relocation
from omero_tui.core.relocation.status import find_unfinished_relocation, latest_relocation
from tests.core.relocation.test_engine_demo import options, repository
from tests.faults.checks import check_complete, config_props, journal_records
from tests.faults.scene import Scene, one_line, step_states

SAFETY_CATEGORY = "Server"


def test_a_server_that_refuses_to_stop_halts_before_anything_moves(scene: Scene) -> None:
    """The stand-in refuses `admin stop`: halted at 'stop', journal 'aborted', server up."""
    box = scene.box
    target = box.second_volume / "OMERO"
    before, config = repository(box.data_dir), box.config_path.read_bytes()
    scene.faults(refuse_stop=True)
    done = scene.cli("--to", str(target), "--yes")
    scene.faults()
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "did not stop" in line and "nothing was moved" in line, line
    records = journal_records(scene.state)
    assert step_states(records, "stop") == ["started", "failed"]
    assert [r["outcome"] for r in records if r.get("type") == "end"] == ["aborted"]
    assert not any(r.get("step") == "prepare" for r in records)
    assert find_unfinished_relocation(scene.state) is None  # nothing to resume or undo
    assert running_pid(box.server_dir) is not None
    assert not target.exists() and box.config_path.read_bytes() == config
    assert repository(box.data_dir) == before


def test_a_server_that_dies_during_start_halts_at_start_then_resumes(scene: Scene) -> None:
    """The stand-in comes up on the copy and dies 0.5 s later: halted at 'start' with the
    config new and the copy complete; --resume once it is fixed."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    scene.faults(die_on_start=True)
    # The fault dies 0.5 s after coming up: the engine must watch for longer.
    env = {**scene.env, "OMERO_TUI_TESTONLY_START_SETTLE_S": "1.5"}
    done = scene.cli("--to", str(target), "--yes", env=env)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "stopped again within 1.5 s of starting" in line and "--resume" in line, line
    status = find_unfinished_relocation(scene.state)
    assert status is not None and status.state == "interrupted"
    assert status.current_step == "start" and status.done("config"), status
    assert "stopped again" in (status.failure or "")
    assert config_props(box)[1] == base.new_props  # whole, and naming a complete copy
    assert running_pid(box.server_dir) is None
    scene.faults()
    resumed = scene.cli("--resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert check_complete(base) == []


def test_a_file_held_open_under_the_repository_halts_at_stop(scene: Scene) -> None:
    """Another process keeps a Pixels file open after the server stopped: halted at
    'stop' (not proven stopped, naming the process), server started again."""
    box = scene.box
    held = sorted((box.data_dir / "Pixels").rglob("[0-9]*"))[-1]
    ready = scene.where / "holding"
    holder = scene.spawn(
        [sys.executable, "-c",
         "import sys, time, pathlib; f = open(sys.argv[1], 'rb');"
         "pathlib.Path(sys.argv[2]).touch(); time.sleep(600)", str(held), str(ready)]
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert holder.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    before, config = repository(box.data_dir), box.config_path.read_bytes()
    opts = options(scene.session, scene.state, stop_timeout_s=1.5)
    location = discover(server_dir_arg=str(box.server_dir), env=scene.env, candidates=[])
    prepared = prepare_relocation(location, str(box.second_volume / "OMERO"), options=opts)
    assert prepared.preflight.ok, prepared.preflight.failures
    result = run_relocation(prepared, options=opts)
    assert result.outcome == "aborted", result.message
    assert "not proven stopped" in result.message and f"pid {holder.pid}" in result.message
    assert str(held) in result.message and "nothing was moved" in result.message
    assert len(result.message.splitlines()) == 1
    records = journal_records(scene.state)
    assert step_states(records, "stop") == ["started", "failed"]
    latest = latest_relocation(scene.state)
    assert latest is not None and latest.state == "aborted"
    assert running_pid(box.server_dir) is not None  # put back as it was
    assert box.config_path.read_bytes() == config and repository(box.data_dir) == before
    assert not Path(box.second_volume / "OMERO").exists()
