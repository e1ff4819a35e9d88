"""A target disk too small, or filled by someone else while the copy runs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.relocation.status import find_unfinished_relocation
from omero_tui.core.relocation.tree_scan import scan_tree
from tests.core.relocation.test_engine_demo import repository
from tests.faults.checks import check_complete, journal_state
from tests.faults.scene import Scene, batches, one_line, step_states

SAFETY_CATEGORY = "Full disk"


def test_a_target_too_small_is_refused_by_the_preflight(scene: Scene) -> None:
    """Target tmpfs smaller than the repository: the preflight refuses, nothing changes."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk", "size=16m")
    before = repository(box.data_dir)
    config = box.config_path.read_bytes()
    done = scene.cli("--to", str(disk / "OMERO"), "--yes")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "refused: the copy needs" in line and "free" in line, line
    assert os.listdir(disk) == []
    assert box.config_path.read_bytes() == config
    assert repository(box.data_dir) == before
    assert running_pid(box.server_dir) is not None  # never stopped
    assert journal_state(scene.state) == "none"


def _fill(disk: Path) -> Path:
    """Another writer takes every free byte of the disk."""
    filler = disk / "someone else's file"
    with open(filler, "wb") as out:
        chunk = b"\xa5" * (1 << 20)
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
    return filler


def test_a_disk_filled_during_the_copy_stops_cleanly_and_resumes(scene: Scene) -> None:
    """Preflight fooled: another writer fills the tmpfs mid-copy; ENOSPC stops the copy
    cleanly (source and config untouched, a clear message); --resume after freeing."""
    box = scene.box
    need = scan_tree(str(box.data_dir)).allocated_bytes
    size = need + (64 << 20) + (24 << 20)  # passes the preflight (64 MiB headroom)
    disk = scene.tmpfs(box.second_volume / "disk", f"size={size}")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    engine, _, err = scene.slow_engine("--to", str(target), "--yes")
    scene.wait_journal(engine, lambda r: batches(r) >= 1)
    filler = _fill(disk)
    assert engine.wait(120) == 1
    line = one_line(err.read_text())
    assert "No space left on device" in line, line
    assert "source is untouched" in line and "--resume" in line, line
    records = [r for r in scene.wait_journal(engine, lambda r: True)]
    assert step_states(records, "copy") == ["started", "failed"]
    assert step_states(records, "config") == []
    status = find_unfinished_relocation(scene.state)
    assert status is not None and status.state == "interrupted", status
    assert "No space left" in (status.failure or "")
    assert box.config_path.read_bytes() == base.config  # not a byte written
    assert repository(box.data_dir) == base.source
    filler.unlink()  # the admin frees the space
    resumed = scene.cli("--resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert "COMPLETE" in resumed.stdout
    assert check_complete(base) == []
