"""What happens around the copy that the engine does not control: a writer appending to
the source between the stop proof and the config switch, a foreign file appearing in
the target, an error named only by a file descriptor, a verification that fails, and
fifos, sockets and device nodes in the source. Real CLI, real tmpfs (root only)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.faults.checks import check_original, journal_records
from tests.faults.scene import Scene, batches, one_line, step_states

SAFETY_CATEGORY = "Copy races"


def _names(root: Path) -> int:
    """Every name below ``root`` and the root: what a tmpfs charges an inode for."""
    count = 1
    for _, dirnames, filenames in os.walk(root):
        count += len(dirnames) + len(filenames)
    return count


def _strip_charged_xattrs(root: Path) -> None:
    """Remove the attributes a tmpfs charges to its inode space (all but ACLs), so what
    is left for the copy's own attributes is known to the byte."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            for attr in os.listxattr(path, follow_symlinks=False):
                if not attr.startswith("system."):
                    os.removexattr(path, attr, follow_symlinks=False)


def test_an_error_named_by_a_descriptor_names_the_file_and_rolls_back(scene: Scene) -> None:
    """The target's tmpfs runs out of inode space in fsetxattr (an OSError whose filename
    is a descriptor number): one line naming the file, then --rollback leaves nothing."""
    box = scene.box
    _strip_charged_xattrs(box.data_dir)
    big = box.data_dir / "zz-xattrs"  # copied last, when the space is nearly used up
    big.mkdir()
    for n in range(8):
        path = big / f"attributed-{n}.tif"
        path.write_bytes(b"pixels")
        os.setxattr(path, "user.omero.big", b"x" * 3000)
    # An inode per name, one for the disk's root and one for the journal's copy, and 4 KiB
    # more: a few 3 KB attributes fit, then one cannot (fsetxattr: ENOSPC).
    inodes = _names(box.data_dir) + 2 + 4
    disk = scene.tmpfs(box.second_volume / "disk", f"size=256m,nr_inodes={inodes}")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    done = scene.cli("--to", str(target), "--yes")
    assert done.returncode == 1, done.stdout[-300:]
    line = one_line(done.stderr)
    assert "No space left on device" in line and f"{target}/zz-xattrs/attributed-" in line, line
    assert "Traceback" not in done.stderr
    rolled = scene.cli("--rollback", "--yes")
    assert rolled.returncode == 0, rolled.stderr
    assert "ROLLED BACK" in rolled.stdout
    assert check_original(base) == []


def test_rollback_after_a_failed_verification_removes_every_copied_entry(scene: Scene) -> None:
    """A source file appended to after its batch was copied: the final verification
    fails; --rollback removes the stale copy too and only then says ROLLED BACK."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    proc, out, _ = scene.slow_engine("--to", str(target), "--yes")
    records = scene.wait_journal(proc, lambda r: batches(r) >= 2)
    first = next(r for r in records if r.get("type") == "batch")["last"]
    victim = box.data_dir / first
    assert victim.is_file() and not victim.is_symlink(), first
    with victim.open("ab") as handle:  # opened, appended to, closed
        handle.write(b"written after it was copied")
    assert proc.wait(120) == 1
    assert step_states(journal_records(scene.state), "verify")[-1] == "failed"
    assert "does not match the source" in out.read_text()
    rolled = scene.cli("--rollback", "--yes")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "ROLLED BACK" in rolled.stdout and "left in place" not in rolled.stdout
    assert sorted(os.listdir(disk)) == base.disk_names
    problems = check_original(base)
    assert problems == ["the source changed"], problems  # by the writer, not the engine
