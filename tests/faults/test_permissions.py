"""Permission surprises: a source file the engine cannot read, a target directory it
cannot write once the copy is under way.

Root reads and writes everything, so the engine runs as root *without* the capabilities
that let root ignore permissions (``setpriv --bounding-set -dac_override,
-dac_read_search``): a real EACCES from the kernel, as an admin's own account gets it.
The fix is the admin's: run it again with an account that may (here: full root) or give
the directory back its write bit; nothing in the source changes, so the copy resumes.
"""

from __future__ import annotations

import os
import shutil

import pytest

from omero_tui.core.relocation.status import find_unfinished_relocation
from omero_tui.core.relocation.tree_scan import scan_tree
from tests.core.relocation.test_engine_demo import repository
from tests.faults.checks import check_complete
from tests.faults.repo_gen import GEN_DIR
from tests.faults.scene import Scene, batches, one_line, step_states

SAFETY_CATEGORY = "Permission surprises"
NO_DAC = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


@pytest.fixture(autouse=True)
def _needs_setpriv() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to drop root's DAC override")


def test_an_unreadable_source_file_stops_the_copy_and_resumes_after_the_fix(
    own_scene: Scene,
) -> None:
    """A source file the engine's account cannot read: the copy stops naming it, nothing
    lost; resumed by an account that can read it."""
    scene = own_scene
    box = scene.box
    secret = sorted((box.data_dir / GEN_DIR / "Dir-001").glob("0*"))[0]
    os.chown(secret, 4242, 4242)
    os.chmod(secret, 0o600)
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    done = scene.cli("--to", str(target), "--yes", prefix=NO_DAC)
    assert done.returncode == 1, done.stdout
    line = one_line(done.stderr)
    assert "Permission denied" in line and str(secret) in line, line
    assert "source is untouched" in line and "--resume" in line, line
    status = find_unfinished_relocation(scene.state)
    assert status is not None and status.current_step == "copy", status
    assert box.config_path.read_bytes() == base.config
    assert repository(box.data_dir) == base.source
    resumed = scene.cli("--resume", "--yes")  # the fix: an account that may read it
    assert resumed.returncode == 0, resumed.stderr
    assert check_complete(base) == []


def test_a_target_directory_made_unwritable_mid_copy_stops_and_resumes(
    own_scene: Scene,
) -> None:
    """A target directory loses its write bit while the copy runs: the copy stops naming
    it, nothing lost; resumed once the bit is back."""
    scene = own_scene
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    last = scan_tree(str(box.data_dir)).entries[-1].rel  # copied last, in scan order
    blocked = target / os.path.dirname(last)
    engine, _, err = scene.slow_engine("--to", str(target), "--yes", prefix=NO_DAC)
    scene.wait_journal(engine, lambda r: batches(r) >= 1)
    os.chmod(blocked, 0o500)  # someone's chmod -R, a policy agent...
    assert engine.wait(120) == 1
    line = one_line(err.read_text())
    assert "Permission denied" in line and str(blocked) in line, line
    assert "--resume" in line, line
    records = scene.wait_journal(engine, lambda r: True)
    assert step_states(records, "copy") == ["started", "failed"]
    assert box.config_path.read_bytes() == base.config
    assert repository(box.data_dir) == base.source
    os.chmod(blocked, 0o700)  # the fix (the copy gives it its real mode at the end)
    resumed = scene.cli("--resume", "--yes", prefix=NO_DAC)
    assert resumed.returncode == 0, resumed.stderr
    assert check_complete(base) == []
    source_mode = (box.data_dir / os.path.dirname(last)).stat().st_mode
    assert blocked.stat().st_mode == source_mode  # its own mode again, not the fix's
