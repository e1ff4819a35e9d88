"""config.xml under attack: malformed, changed by someone else mid-relocation, its lock
held by another process, its directory read-only. Refused or retried; the file is never
half-written (compared byte for byte) and never loses someone else's change."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import parse_config
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.engine import (
    prepare_relocation,
    resume_relocation,
    run_relocation,
)
from omero_tui.core.relocation.status import find_unfinished_relocation
from tests.core.relocation.test_engine_demo import options, repository
from tests.faults.checks import check_complete, check_original, journal_records
from tests.faults.scene import Scene, batches, one_line, step_states

SAFETY_CATEGORY = "Configuration"
HOLDER = (
    "import sys, time, pathlib\n"
    "from omero_tui.core.config.lock import exclusive_lock\n"
    "with exclusive_lock(pathlib.Path(sys.argv[1]), 10):\n"
    "    pathlib.Path(sys.argv[2]).touch()\n"
    "    time.sleep(float(sys.argv[3]))\n"
)


def _grid(scene: Scene) -> list[str]:
    return sorted(p.name for p in scene.box.config_path.parent.iterdir())


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"\x00\x01 not xml at all \xff", id="garbage"),
        pytest.param(lambda b: b.replace(b"<properties", b"<property", 1), id="wrong-layout"),
    ],
)
def test_a_malformed_config_is_refused_and_left_as_it_is(scene: Scene, damage: object) -> None:
    """config.xml malformed (truncated, garbage, a layout OMERO never writes): refused
    before the server is touched, the file left byte for byte."""
    box = scene.box
    bad = damage(box.config_path.read_bytes())  # type: ignore[operator]
    box.config_path.write_bytes(bad)
    grid, before = _grid(scene), repository(box.data_dir)
    done = scene.cli("--to", str(box.second_volume / "OMERO"), "--yes")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "config.xml cannot be used" in line, line
    assert box.config_path.read_bytes() == bad and _grid(scene) == grid
    assert running_pid(box.server_dir) is not None and repository(box.data_dir) == before
    assert journal_records(scene.state) == []


def test_a_config_changed_by_someone_else_is_not_overwritten_nor_rolled_over(
    scene: Scene,
) -> None:
    """Another admin runs `omero config set` during the copy: the rewrite refuses
    ('changed by someone else'); --rollback keeps that admin's change too."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    engine, _, err = scene.slow_engine("--to", str(target), "--yes")
    scene.wait_journal(engine, lambda r: batches(r) >= 1)
    other = scene.session.omero("config", "set", "omero.mail.host", "smtp.example.org")
    assert other.returncode == 0, other.stderr
    theirs = box.config_path.read_bytes()
    assert engine.wait(120) == 1
    line = one_line(err.read_text())
    assert "changed by someone else" in line and "nothing written" in line, line
    records = journal_records(scene.state)
    assert step_states(records, "config") == ["started", "failed"]
    assert box.config_path.read_bytes() == theirs  # not a byte of ours in it
    rolled = scene.cli("--rollback", "--yes")
    assert rolled.returncode == 0, rolled.stderr
    assert box.config_path.read_bytes() == theirs, "the rollback undid another admin's change"
    props = parse_config(theirs).properties("default")
    assert props["omero.mail.host"] == "smtp.example.org"
    assert props["omero.data.dir"] == str(box.data_dir)
    assert running_pid(box.server_dir) is not None
    assert repository(box.data_dir) == base.source and list(disk.iterdir()) == []


def _hold_lock(scene: Scene, seconds: float):  # noqa: ANN202
    ready = scene.where / f"lock-held-{time.monotonic_ns()}"
    lock = str(scene.box.config_path) + ".lock"
    holder = scene.spawn([sys.executable, "-c", HOLDER, lock, str(ready), str(seconds)])
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert holder.poll() is None and time.monotonic() < deadline, "no lock holder"
        time.sleep(0.01)
    return holder


def _prepared(scene: Scene, target: Path, **changes: object):  # noqa: ANN202
    opts = options(scene.session, scene.state, **changes)
    location = discover(server_dir_arg=str(scene.box.server_dir), env=scene.env, candidates=[])
    prepared = prepare_relocation(location, str(target), options=opts)
    assert prepared.preflight.ok, prepared.preflight.failures
    return prepared, opts


def test_a_config_lock_held_past_the_retry_window_fails_then_resumes(scene: Scene) -> None:
    """A real flock holder keeps config.xml.lock past the retry window: the rewrite gives
    up naming the holder, config.xml untouched; resumed once it lets go."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    prepared, opts = _prepared(scene, target, lock_timeout_s=1.0)
    holder = _hold_lock(scene, 600)  # taken after the preflight, which would refuse
    started = time.monotonic()
    result = run_relocation(prepared, options=opts)
    assert result.outcome == "failed", result.message
    assert f"held by pid {holder.pid}" in result.message and "gave up after 1 s" in result.message
    assert len(result.message.splitlines()) == 1
    assert time.monotonic() - started < 60
    assert box.config_path.read_bytes() == base.config
    assert _grid(scene) == sorted({*base.grid, "config.xml.lock"})  # the holder's, no temp
    status = find_unfinished_relocation(scene.state)
    assert status is not None and status.current_step == "config"
    holder.terminate()
    holder.wait(10)
    resumed = resume_relocation(options=opts)
    assert resumed.outcome == "complete", resumed.message
    assert check_complete(base) == []


def test_a_config_lock_held_briefly_is_waited_for(scene: Scene) -> None:
    """A holder lets go of config.xml.lock within the retry window: the rewrite waits,
    retries and completes; one backup holding exactly the old bytes."""
    box = scene.box
    target = box.second_volume / "OMERO"  # same filesystem: one rename
    base = scene.baseline(target, box.second_volume)
    prepared, opts = _prepared(scene, target, lock_timeout_s=20.0)
    holder = _hold_lock(scene, 1.5)
    result = run_relocation(prepared, options=opts)
    assert result.outcome == "complete", result.message
    assert holder.wait(10) == 0  # it held on for its whole time, then let go
    backups = sorted(box.config_path.parent.glob("config.xml.bak-*"))
    assert [b.read_bytes() for b in backups] == [base.config]
    assert (
        parse_config(box.config_path.read_bytes()).properties("default")
        == (base.new_props["default"])
    )


def test_a_read_only_config_dir_is_refused_and_left_alone(scene: Scene) -> None:
    """etc/grid read-only (a read-only bind mount: even root cannot write there): refused
    before anything is touched, config.xml byte for byte as it was."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    scene.read_only_bind(box.config_path.parent)
    done = scene.cli("--to", str(target), "--yes")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "not writable" in line and "could not be recorded" in line, line
    scene.unmount(box.config_path.parent)
    assert check_original(base) == []
    assert journal_records(scene.state) == []


def test_a_config_dir_made_read_only_after_the_preflight_fails_then_resumes(
    scene: Scene,
) -> None:
    """etc/grid turns read-only after the preflight passed: the rewrite fails (EROFS),
    config.xml byte for byte as it was; resumed once it is writable again."""
    box = scene.box
    target = box.second_volume / "OMERO"  # same filesystem: one rename
    base = scene.baseline(target, box.second_volume)
    prepared, opts = _prepared(scene, target)
    scene.read_only_bind(box.config_path.parent)
    result = run_relocation(prepared, options=opts)
    assert result.outcome == "failed", result.message
    assert "Read-only file system" in result.message and "--resume" in result.message
    assert len(result.message.splitlines()) == 1
    assert box.config_path.read_bytes() == base.config and _grid(scene) == base.grid
    status = find_unfinished_relocation(scene.state)
    assert status is not None and status.current_step == "config", status
    scene.unmount(box.config_path.parent)
    resumed = resume_relocation(options=opts)
    assert resumed.outcome == "complete", resumed.message
    assert (
        parse_config(box.config_path.read_bytes()).properties("default")
        == (base.new_props["default"])
    )
    assert running_pid(box.server_dir) is not None
