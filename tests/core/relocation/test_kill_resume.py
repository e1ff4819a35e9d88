"""SIGKILL the engine (a real ``omero-tui relocate`` process) mid-copy, then resume or
roll back: the result must be a verified complete copy, or exactly the starting state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.copy_tree import TESTONLY_BATCH_FILES_ENV, TESTONLY_PAUSE_ENV
from omero_tui.core.relocation.journal import TARGET_JOURNAL_NAME, read_records
from tests.core.relocation.helpers import REPO, cli, mount_tmpfs, unmount
from tests.core.relocation.test_engine_demo import repository

Records = list[dict]


@pytest.fixture
def sandbox_and_disk(tmp_path: Path) -> Iterator[tuple[DemoSession, Path, dict[str, str]]]:
    with DemoSession(tmp_path / "demo") as session:
        disk = session.sandbox.second_volume / "disk"
        mount_tmpfs(disk)
        env = {
            **session.env,
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "OMERO_TUI_TESTONLY_START_SETTLE_S": "0.2",
        }
        try:
            yield session, disk, env
        finally:
            unmount(disk)  # lazily: the session then stops its server


def journal(env: dict[str, str]) -> Records:
    found = sorted((Path(env["XDG_STATE_HOME"]) / "omero-tui" / "relocations").glob("*.jsonl"))
    return read_records(found[-1]) if found else []


def batches(records: Records) -> int:
    return sum(1 for r in records if r.get("type") == "batch")


def target_journal(target: Path) -> Records:
    """The copy of the journal kept in the target (written just after the state dir's)."""
    path = target / TARGET_JOURNAL_NAME
    return read_records(path) if path.is_file() else []


def kill_when(
    session: DemoSession,
    target: Path,
    env: dict[str, str],
    when: Callable[[Records], bool],
    *,
    batch_files: int,
    pause_s: float,
    watch_target: bool = False,
) -> Records:
    """Start a relocation, SIGKILL it once ``when(journal)`` holds; the journal left.

    ``watch_target``: judge by the target's copy of the journal, which a kill may catch
    one record behind the state dir's (a test that then loses the state dir needs the
    batch to be in the target's copy, or the resume rightly starts the copy afresh)."""
    engine_env = {
        **env,
        TESTONLY_BATCH_FILES_ENV: str(batch_files),
        TESTONLY_PAUSE_ENV: str(pause_s),
    }
    box = session.sandbox
    argv = [sys.executable, "-m", "omero_tui", "--server-dir", str(box.server_dir)]
    engine = subprocess.Popen(
        [*argv, "relocate", "--to", str(target), "--yes", "--lost-at-reboot", "--json"],
        env=engine_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while not when(target_journal(target) if watch_target else journal(env)):
            assert engine.poll() is None, "the engine finished before the kill point"
            assert time.monotonic() < deadline, "the kill point never came"
            time.sleep(0.01)
        engine.send_signal(signal.SIGKILL)
    finally:
        engine.kill()
        engine.wait()
    return journal(env)


def config_data_dir(session: DemoSession) -> str:
    where = discover(server_dir_arg=str(session.sandbox.server_dir), env=session.env, candidates=[])
    return where.data_dir.value or ""


LOSE_STATE = "after the first batch, with the state dir lost"


@pytest.mark.parametrize(
    ("name", "when", "batch_files", "pause_s"),
    [
        (LOSE_STATE, lambda r: batches(r) >= 1, 150, 0.3),
        ("in the middle of a batch", lambda r: batches(r) >= 2, 40, 0.0),
        pytest.param("while verifying the whole copy", lambda r: any(
            x.get("step") == "verify" and x.get("state") == "started" for x in r), 400, 0.0,
            marks=pytest.mark.slow),
        pytest.param("as the config is written", lambda r: any(
            x.get("step") == "config" and x.get("state") == "started" for x in r), 400, 0.0,
            marks=pytest.mark.slow),
        pytest.param("while the server starts", lambda r: any(
            x.get("step") == "start" and x.get("state") == "started" for x in r), 400, 0.0,
            marks=pytest.mark.slow),
        pytest.param("right at the start of the copy", lambda r: any(
            x.get("step") == "copy" and x.get("state") == "started" for x in r), 10, 0.0,
            marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_sigkill_then_resume_ends_identical_and_verified(
    sandbox_and_disk: tuple[DemoSession, Path, dict[str, str]],
    name: str,
    when: Callable[[Records], bool],
    batch_files: int,
    pause_s: float,
) -> None:
    session, disk, env = sandbox_and_disk
    box = session.sandbox
    target = disk / "OMERO"
    before = repository(box.data_dir)  # what a run of the server changes is left out
    left = kill_when(
        session,
        target,
        env,
        when,
        batch_files=batch_files,
        pause_s=pause_s,
        watch_target=name == LOSE_STATE,
    )
    assert not any(r.get("type") == "end" for r in left), f"killed {name}: already over"
    extra: tuple[str, ...] = ()
    if name == LOSE_STATE:  # the copy of the journal kept in the target is found there
        shutil.rmtree(Path(env["XDG_STATE_HOME"]))
        extra = ("--to", str(target))
        dry = cli("relocate", "--resume", "--dry-run", *extra, env=env)
        assert dry.returncode == 0 and "copy: continue after" in dry.stdout, dry.stderr
        assert not Path(env["XDG_STATE_HOME"]).exists()  # a dry run adopts nothing
    resumed = cli("relocate", "--resume", "--yes", *extra, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "COMPLETE" in resumed.stdout
    assert config_data_dir(session) == str(target)
    assert running_pid(box.server_dir) is not None
    done = journal(env)
    upto = max((r["upto"] for r in done if r.get("type") == "batch"), default=0)
    first_run = max((r["upto"] for r in left if r.get("type") == "batch"), default=0)
    assert sum(1 for r in done if r.get("type") == "resume") == 1
    assert upto > 0 and first_run <= upto
    assert repository(target) == before  # the server runs there: its lock files aside
    assert repository(box.data_dir) == before
    assert not list(target.rglob(".omero-tui-*"))


def test_sigkill_then_rollback_gives_back_the_starting_state(
    sandbox_and_disk: tuple[DemoSession, Path, dict[str, str]],
) -> None:
    session, disk, env = sandbox_and_disk
    box = session.sandbox
    before = repository(box.data_dir)
    config = box.config_path.read_bytes()
    grid = sorted(p.name for p in box.config_path.parent.iterdir())
    disk_mtime = disk.stat().st_mtime_ns
    kill_when(session, disk / "OMERO", env, lambda r: batches(r) >= 2, batch_files=100, pause_s=0.2)
    assert os.listdir(disk) == ["OMERO"]
    dry = cli("relocate", "--rollback", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"remove the copy in {disk / 'OMERO'}" in " ".join(dry.stdout.split())
    assert "start the server again" in dry.stdout and "Dry run" in dry.stdout
    assert os.listdir(disk) == ["OMERO"]
    rolled = cli("relocate", "--rollback", "--yes", env=env)
    assert rolled.returncode == 0, rolled.stderr
    assert "ROLLED BACK" in rolled.stdout
    assert os.listdir(disk) == []
    assert disk.stat().st_mtime_ns == disk_mtime  # the parent of the target, too
    assert box.config_path.read_bytes() == config
    assert sorted(p.name for p in box.config_path.parent.iterdir()) == grid
    assert running_pid(box.server_dir) is not None
    assert repository(box.data_dir) == before
    states = [
        json.loads(line)
        for line in cli("relocate", "--resume", "--json", env=env).stdout.splitlines()
    ]
    assert states[-1]["event"] == "error"
