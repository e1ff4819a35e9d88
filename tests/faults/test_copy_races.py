"""What happens around the copy that the engine does not control: a writer appending to
the source between the stop proof and the config switch, a foreign file appearing in
the target, an error named only by a file descriptor, a verification that fails, and
fifos, sockets and device nodes in the source. Real CLI, real tmpfs (root only)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.relocation.target_state import CHANGED_IN_TARGET, NOT_IN_SOURCE
from tests.core.relocation.helpers import REPO
from tests.faults.checks import check_complete, check_original, journal_records
from tests.faults.kill_runner import _wait_stopped
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


def _needs_user_xattrs(disk: Path) -> None:
    probe = disk / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
    except OSError as err:
        print(f"skipped: this kernel's tmpfs takes no user xattrs ({err.strerror})")
        pytest.skip(f"this kernel's tmpfs takes no user xattrs ({err.strerror})")
    finally:
        probe.unlink()


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
    _needs_user_xattrs(disk)
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


def _paused_at_config(scene: Scene, target: Path) -> tuple[subprocess.Popen, Path]:
    """The real CLI, frozen (SIGSTOP) at its first change once the config step began:
    after the stop proof, the copy and its verification, before config.xml is switched."""
    err = scene.where / "paused.err"
    argv = [sys.executable, "-m", "tests.faults.paused_cli", "--marker",
            str(scene.where / "paused.json"), "--phase", "config", "--index", "0", "--",
            "--server-dir", str(scene.box.server_dir),
            "relocate", "--to", str(target), "--yes", "--lost-at-reboot"]  # fmt: skip
    with err.open("w") as stderr:
        proc = subprocess.Popen(
            argv, env=scene.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=stderr, cwd=REPO, start_new_session=True,
        )  # fmt: skip
    scene.procs.append(proc)
    assert _wait_stopped(proc, 180), err.read_text()
    return proc, err


@pytest.mark.parametrize("hide", [False, True], ids=["append", "append-size-and-mtime-put-back"])
def test_a_late_writer_between_stop_and_switch_aborts_the_switch(scene: Scene, hide: bool) -> None:
    """Another process opens a source file, appends and closes it between the stop proof
    and the config switch (and, in one case, puts its size and mtime back): the switch is
    aborted naming the file, config.xml still names the old copy, --rollback undoes."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    victim = next(p for p in sorted((box.data_dir / "Pixels").rglob("*")) if _plain(p))
    proc, err = _paused_at_config(scene, target)
    before = victim.stat()
    writer = (
        "import os, sys\n"
        "with open(sys.argv[1], 'ab') as f:\n"
        "    f.write(b'appended by a late writer')\n"
        "if sys.argv[2] == '1':\n"
        f"    os.truncate(sys.argv[1], {before.st_size})\n"
        f"    os.utime(sys.argv[1], ns=({before.st_atime_ns}, {before.st_mtime_ns}))\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(victim), "1" if hide else "0"], check=True)
    os.killpg(proc.pid, signal.SIGCONT)
    assert proc.wait(120) == 1
    line = one_line(err.read_text())
    assert f"{victim} changed" in line and "config.xml was not switched" in line, line
    assert box.config_path.read_bytes() == base.config  # still names the old copy
    assert step_states(journal_records(scene.state), "config") == ["started", "failed"]
    rolled = scene.cli("--rollback", "--yes")
    assert rolled.returncode == 0 and "ROLLED BACK" in rolled.stdout, rolled.stderr
    assert sorted(os.listdir(disk)) == base.disk_names
    # The writer's bytes are kept in the old copy (put back: only its ctime shows it).
    assert check_original(base) == ([] if hide else ["the source changed"])
    assert running_pid(box.server_dir) is not None


def _plain(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.stat().st_nlink == 1


def test_a_foreign_file_in_the_target_during_the_copy_is_never_replaced(scene: Scene) -> None:
    """Someone creates a file in the target, at a name the copy has not reached yet: the
    copy stops naming it and leaves it as it is; --rollback names it and does not say
    ROLLED BACK until it is moved away."""
    box = scene.box
    late = box.data_dir / "zz-late" / "late.tif"  # the last name the copy reaches
    late.parent.mkdir()
    late.write_bytes(b"the repository's own file")
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    proc, _, err = scene.slow_engine("--to", str(target), "--yes")
    scene.wait_journal(proc, lambda r: batches(r) >= 1)
    foreign = target / "zz-late" / "late.tif"
    assert foreign.parent.is_dir() and not foreign.exists()
    foreign.write_bytes(b"someone else's file")
    assert proc.wait(120) == 1
    line = one_line(err.read_text())
    assert f"({foreign})" in line and "someone else" in line, line
    assert foreign.read_bytes() == b"someone else's file"
    refused = scene.cli("--rollback", "--yes")
    assert refused.returncode == 1 and "ROLLED BACK" not in refused.stdout
    said = " ".join(refused.stdout.split())  # wrapped at 80 columns: word by word
    assert f"{foreign} ({NOT_IN_SOURCE})" not in said  # it is in the source...
    assert f"{foreign} ({CHANGED_IN_TARGET})" in said  # ...but not the copy
    assert "rollback incomplete" in one_line(refused.stderr)
    assert foreign.read_bytes() == b"someone else's file"
    shutil.move(foreign, scene.where / "moved-away.tif")
    rolled = scene.cli("--rollback", "--yes")
    assert rolled.returncode == 0 and "ROLLED BACK" in rolled.stdout, rolled.stderr
    assert check_original(base) == []


def test_fifos_sockets_and_device_nodes_are_made_again(scene: Scene) -> None:
    """A fifo, a socket and a character device in the source: the relocation makes each
    again (same kind, device number, owner, mode, time) and --remove-source then deletes
    the old copy."""
    box = scene.box
    specials = box.data_dir / "Files" / "specials"
    specials.mkdir()
    os.mkfifo(specials / "a-fifo", 0o640)
    os.mknod(specials / "a-socket", stat.S_IFSOCK | 0o600)
    os.mknod(specials / "a-device", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.chown(specials / "a-fifo", 1234, 5678)
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    done = scene.cli("--to", str(target), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 fifo/socket/device entries made again" in " ".join(done.stdout.split())
    assert check_complete(base) == []
    for name in ("a-fifo", "a-socket", "a-device"):
        want = (specials / name).lstat()
        got = (target / "Files" / "specials" / name).lstat()
        assert (got.st_mode, got.st_rdev, got.st_uid, got.st_gid, got.st_mtime_ns) == (
            want.st_mode, want.st_rdev, want.st_uid, want.st_gid, want.st_mtime_ns,
        ), name  # fmt: skip
    removed = scene.cli("--remove-source", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not box.data_dir.exists()


def test_device_nodes_that_cannot_be_made_again_are_refused_before_the_stop(
    scene: Scene,
) -> None:
    """A device node in the source and a CLI that cannot make one (root without
    CAP_MKNOD): refused by the preflight, the server never stopped, nothing moved."""
    if not shutil.which("setpriv"):
        print("skipped: setpriv (util-linux) is needed to drop CAP_MKNOD")
        pytest.skip("setpriv (util-linux) is needed to drop CAP_MKNOD")
    box = scene.box
    os.mknod(box.data_dir / "Files" / "a-device", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    disk = scene.tmpfs(box.second_volume / "disk")
    config = box.config_path.read_bytes()
    done = scene.cli(
        "--to", str(disk / "OMERO"), "--yes", prefix=("setpriv", "--bounding-set", "-mknod")
    )
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "device nodes such as Files/a-device cannot be made again" in line, line
    assert running_pid(box.server_dir) is not None and box.config_path.read_bytes() == config
    assert os.listdir(disk) == []
