"""Who may read what, and what the target's filesystem can hold, against the real CLI.

A target parent that hands down a default ACL or its group (set-group-ID) must not
change the copy's access: the relocation ends with ``getfacl -R`` of both trees equal.
Loop-mounted filesystems that cannot hold the source (ext4 with 128-byte inodes: whole
seconds; ext4 with 1 KiB blocks: 1 KiB of attributes; xfs: symlink texts under 1 KiB)
are refused by the preflight, naming the file, before the server is stopped. Attribute
and ACL changes between a SIGKILL and ``--resume`` are caught, on either side.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.relocation.tree_scan import scan_tree
from tests.core.relocation.test_engine_demo import repository
from tests.faults.checks import check_complete, journal_records, journal_state
from tests.faults.repo_gen import GEN_DIR
from tests.faults.scene import Scene, batches, one_line, step_states
from tests.mountkit import LoopMount, loop_mount

SAFETY_CATEGORY = "Access and target limits"


@pytest.fixture(autouse=True)
def _acl_tools() -> None:
    missing = [t for t in ("getfacl", "setfacl") if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        why = "needs root and the acl tools (.ci/run installs acl)"
        print(f"skipped: {why}")
        pytest.skip(why)


def facl(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def getfacl(root: Path) -> list[bytes]:
    """``getfacl -R`` of a tree, paths relative to it, numeric ids (names may not be
    UTF-8), one block per entry, sorted: each filesystem lists a directory its own way."""
    argv = ["getfacl", "-R", "-p", "-n", "."]
    out = subprocess.run(argv, cwd=root, capture_output=True, check=True).stdout
    return sorted(block for block in out.split(b"\n\n") if block.strip())


def with_acls(scene: Scene) -> Path:
    """The hostile repository, plus what admins give a shared repository: a named-group
    ACL on a file and a directory, a default ACL on a directory, a user attribute."""
    top = scene.box.data_dir / GEN_DIR
    files = sorted((top / "Dir-000").glob("0*"))
    facl("setfacl", "-m", "g:4242:r--", str(files[0]))
    facl("setfacl", "-m", "g:4242:rwx", "-m", "d:g:4242:rwx", str(top / "Dir-001"))
    os.setxattr(files[1], "user.omero.note", b"checked 2026-11-30")
    return top


PARENTS = {
    "default-acl": lambda disk: facl("setfacl", "-d", "-m", "g::---", str(disk)),
    "setgid": lambda disk: (os.chown(disk, 0, 4343), os.chmod(disk, 0o2775)),
}


@pytest.mark.parametrize("parent", sorted(PARENTS))
def test_a_hostile_target_parent_leaves_every_acl_owner_and_group_as_the_sources(
    scene: Scene, parent: str
) -> None:
    """The target's parent has a default ACL (``d:g::---``) or is set-group-ID with its
    own group: the relocation ends with every ACL, owner and group the source's."""
    with_acls(scene)
    disk = scene.tmpfs(scene.box.second_volume / "disk")
    PARENTS[parent](disk)
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    done = scene.cli("--to", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    assert "all " in done.stdout or "COMPLETE" in done.stdout
    source = getfacl(scene.box.data_dir)
    names = {block.split(b"\n", 1)[0] for block in source}  # "# file: ./..."
    # The server started on the copy writes its .lock files (and may write more): those
    # are not the copy's; everything the source has must be there, with the same ACL.
    assert [b for b in getfacl(target) if b.split(b"\n", 1)[0] in names] == source
    assert check_complete(base) == []  # owners, groups, modes, xattrs, content, times


# ---------------------------------------------------------------- target filesystems

MiB = 1 << 20


def _long_xattr(data: Path) -> Path:
    note = data / GEN_DIR / "Dir-000" / "annotated.tif"
    note.write_bytes(b"II*\x00")
    os.setxattr(note, "user.omero.note", b"n" * 2000)  # ENOSPC on a 1 KiB-block ext4
    return note


def _long_symlink(data: Path) -> Path:
    link = data / GEN_DIR / "Dir-000" / "long link"
    link.symlink_to("d/" * 2000)  # 4000 bytes: ENAMETOOLONG on xfs
    return link


def _nanoseconds(data: Path) -> Path:
    entries = scan_tree(str(data)).entries
    first = next(e for e in entries if e.mtime_ns % 10**9)
    return data / first.rel if first.rel else data


FILESYSTEMS = {
    "ext4-128-byte-inodes": (
        ["mkfs.ext4", "-q", "-F", "-b", "4096", "-I", "128"],
        _nanoseconds,
        "keeps times to 1 s only",
    ),
    "ext4-1k-blocks": (
        ["mkfs.ext4", "-q", "-F", "-b", "1024", "-I", "256"],
        _long_xattr,
        "has no room for the 2015 bytes of extended attributes",
    ),
    "xfs": (["mkfs.xfs", "-q", "-f"], _long_symlink, "refuses a symlink text of 4000 bytes"),
}


@pytest.fixture
def loop_disks(tmp_path: Path) -> Iterator[Callable[[list[str]], Path]]:
    made: list[LoopMount] = []

    def make(mkfs: list[str]) -> Path:
        size = 320 if mkfs[0] == "mkfs.xfs" else 192
        mount = loop_mount(tmp_path, mkfs, size_mib=size, name=f"disk{len(made)}")
        made.append(mount)
        return mount.point

    yield make
    for mount in reversed(made):
        mount.close()


@pytest.mark.parametrize("fs", sorted(FILESYSTEMS))
def test_a_target_filesystem_that_cannot_hold_the_source_is_refused_before_the_stop(
    scene: Scene, loop_disks: Callable[[list[str]], Path], fs: str
) -> None:
    """A loop-mounted ext4 with 128-byte inodes, ext4 with 1 KiB blocks or xfs cannot
    hold a nanosecond time, a 2000-byte attribute or a 4000-byte symlink text: the
    preflight refuses, naming the file, and the server is never stopped."""
    mkfs, prepare, words = FILESYSTEMS[fs]
    box = scene.box
    culprit = prepare(box.data_dir)
    disk = loop_disks(mkfs)
    before = repository(box.data_dir)
    config = box.config_path.read_bytes()
    server = running_pid(box.server_dir)
    assert server is not None
    done = scene.cli("--to", str(disk / "OMERO"), "--yes")
    assert done.returncode == 1, done.stdout
    line = one_line(done.stderr)
    assert "refused: " in line and words in line and str(culprit) in line, line
    assert running_pid(box.server_dir) == server  # never stopped
    assert journal_state(scene.state) == "none"
    assert sorted(os.listdir(disk)) in ([], ["lost+found"])
    assert box.config_path.read_bytes() == config
    assert repository(box.data_dir) == before


# ------------------------------------------------------------ kill, change, --resume


def _copied_file(scene: Scene, records: list[dict]) -> str:
    """A regular file of the source that a recorded batch holds (so is not copied again)."""
    upto = max(r["upto"] for r in records if r.get("type") == "batch")
    entries = scan_tree(str(scene.box.data_dir)).entries[:upto]
    return next(e.rel for e in entries if e.kind == "file" and not e.rel.startswith(".omero"))


CHANGES = {
    "source-xattr": lambda src, dst: os.setxattr(src, "user.changed", b"after the kill"),
    "source-acl": lambda src, dst: facl("setfacl", "-m", "g:4242:rwx", str(src.parent)),
    "copy-acl": lambda src, dst: facl("setfacl", "-m", "g:4242:rwx", str(dst)),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_xattr_and_acl_changes_between_a_kill_and_resume_are_caught(
    scene: Scene, change: str
) -> None:
    """SIGKILL mid-copy, then an attribute or ACL changes on a file already copied (in
    the source, or on its copy): ``--resume`` refuses or its verification fails, naming
    it; config.xml keeps naming the old copy."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    base = scene.baseline(target, disk)
    engine, _, _ = scene.slow_engine("--to", str(target), "--yes")
    records = scene.wait_journal(engine, lambda r: batches(r) >= 1)
    os.killpg(engine.pid, signal.SIGKILL)
    engine.wait(30)
    rel = _copied_file(scene, journal_records(scene.state))
    CHANGES[change](box.data_dir / rel, target / rel)
    resumed = scene.cli("--resume", "--yes")
    assert resumed.returncode == 1, resumed.stdout
    line = one_line(resumed.stderr)
    if change.startswith("source"):
        assert "changed since the copy began" in line, line
    else:
        assert "does not match the source" in line and rel in line, line
        assert "group 4242 gets rwx on the copy" in line, line
        assert step_states(journal_records(scene.state), "verify")[-1] == "failed"
    assert box.config_path.read_bytes() == base.config
    assert records  # the kill came after a recorded batch
