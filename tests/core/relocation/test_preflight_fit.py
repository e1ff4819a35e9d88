"""What the target filesystem cannot hold, found by the preflight on real loop-mounted
filesystems (root): whole-second times, 1 KiB of attributes, short symlinks, no ACLs,
and paths beyond PATH_MAX."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.discovery import discover
from omero_tui.core.perms.access import ACL_ACCESS_XATTR, AclEntry, AclTag, encode_acl_xattr
from omero_tui.core.record import replace
from omero_tui.core.relocation import preflight_fit
from omero_tui.core.relocation.checks import PreflightReport
from omero_tui.core.relocation.plan import build_plan
from omero_tui.core.relocation.preflight import run_preflight
from omero_tui.core.relocation.preflight_fit import PROBE_PREFIX, first_misfit, owner_checks
from omero_tui.core.relocation.tree_scan import PATH_MAX, scan_tree
from tests.core.relocation.helpers import snapshot
from tests.mountkit import LoopMount, loop_mount, unmount

EXT4_128 = ["mkfs.ext4", "-q", "-F", "-b", "4096", "-I", "128"]  # whole seconds only
EXT4_1K = ["mkfs.ext4", "-q", "-F", "-b", "1024", "-I", "256"]  # one 1 KiB block of xattrs
EXT4 = ["mkfs.ext4", "-q", "-F", "-b", "4096", "-I", "256"]
XFS = ["mkfs.xfs", "-q", "-f"]  # symlink texts under 1 KiB
ACL = (
    AclEntry(AclTag.USER_OBJ, 6),
    AclEntry(AclTag.GROUP_OBJ, 4),
    AclEntry(AclTag.GROUP, 6, 4242),
    AclEntry(AclTag.MASK, 6),
    AclEntry(AclTag.OTHER, 0),
)


@pytest.fixture
def loop_fs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Make a loop-mounted filesystem: ``loop_fs(mkfs_argv, options="")`` -> mount point.
    Every one is unmounted and its loop device detached at teardown."""
    made: list[LoopMount] = []

    def make(mkfs: list[str], options: str = "") -> Path:
        size = 320 if mkfs[0] == "mkfs.xfs" else 128  # xfs wants 300 MiB at least
        mount = loop_mount(tmp_path, mkfs, size_mib=size, name=f"fs{len(made)}", options=options)
        made.append(mount)
        return mount.point

    yield make
    for mount in reversed(made):
        mount.close()


@pytest.fixture
def ramfs() -> Iterator[Callable[[Path], Path]]:
    """Mount a ramfs (root): a filesystem without extended attributes, hence no ACLs."""
    mounted: list[Path] = []

    def make(point: Path) -> Path:
        point.mkdir()
        done = subprocess.run(["mount", "-t", "ramfs", "ramfs", str(point)], capture_output=True)
        if done.returncode != 0:
            print(f"skipped: ramfs not mountable here ({done.stderr.strip()!r})")
            pytest.skip("ramfs not mountable here")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        unmount(point)


def preflight(sandbox: DemoSandbox, target: Path) -> PreflightReport:
    location = discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[])
    plan, _ = build_plan(location, str(target), env={})
    assert plan.method == "copy"
    scan = scan_tree(plan.source_real)
    return run_preflight(plan, scan, location, server_user=None, probe_locks=False, env={})


def failed(report: PreflightReport) -> dict[str, str]:
    return {c.code: c.reason for c in report.failures}


def test_ext4_with_128_byte_inodes_is_refused_for_its_whole_second_times(
    demo_sandbox: DemoSandbox, loop_fs: Callable[..., Path]
) -> None:
    entries = scan_tree(str(demo_sandbox.data_dir)).entries
    first = next(e for e in entries if e.mtime_ns % 10**9)  # the demo's times: some whole
    report = preflight(demo_sandbox, loop_fs(EXT4_128) / "OMERO")
    assert set(failed(report)) == {"relocation.target_times"}, report.failures
    reason = failed(report)["relocation.target_times"]
    assert "keeps times to 1 s only" in reason
    assert f"so {demo_sandbox.data_dir / first.rel} would lose its modification time" in reason


def test_ext4_with_1k_blocks_is_refused_for_an_attribute_it_has_no_room_for(
    demo_sandbox: DemoSandbox, loop_fs: Callable[..., Path]
) -> None:
    data = demo_sandbox.data_dir
    os.setxattr(data / "Pixels", "user.small", b"s" * 600)  # fits in 1 KiB
    big = data / "Files" / "annotated.txt"
    big.write_text("a file with a long note")
    os.setxattr(big, "user.omero.note", b"n" * 2000)  # the first that does not fit
    later = data / "Files" / "later.txt"
    later.write_text("also too much")
    os.setxattr(later, "user.omero.note", b"n" * 1500)
    report = preflight(demo_sandbox, loop_fs(EXT4_1K) / "OMERO")
    assert set(failed(report)) == {"relocation.target_xattr_size"}, report.failures
    reason = failed(report)["relocation.target_xattr_size"]
    assert f"2015 bytes of extended attributes (ACLs included) of {big};" in reason, reason


def test_xfs_is_refused_for_a_4000_byte_symlink_text(
    demo_sandbox: DemoSandbox, loop_fs: Callable[..., Path]
) -> None:
    links = demo_sandbox.data_dir / "Files" / "links"
    links.mkdir()
    (links / "a-short").symlink_to("x" * 900)
    (links / "b-long").symlink_to("y/" * 2000)
    (links / "c-longer").symlink_to("z" * 4000)
    report = preflight(demo_sandbox, loop_fs(XFS) / "OMERO")
    assert set(failed(report)) == {"relocation.target_symlink_length"}, report.failures
    reason = failed(report)["relocation.target_symlink_length"]
    assert f"{links}/b-long has one" in reason and "4000 bytes" in reason, reason


def test_a_target_without_acls_is_refused_when_the_source_has_one(
    demo_sandbox: DemoSandbox,
    loop_fs: Callable[..., Path],
    ramfs: Callable[[Path], Path],
    tmp_path: Path,
) -> None:
    shared = demo_sandbox.data_dir / "Files" / "shared.tif"
    shared.write_bytes(b"II*\x00")
    os.setxattr(shared, ACL_ACCESS_XATTR, encode_acl_xattr(ACL))
    no_acls = ramfs(tmp_path / "ramfs")  # no extended attributes at all (ext4 ignores noacl)
    report = preflight(demo_sandbox, no_acls / "OMERO")
    assert f"{shared} has one" in failed(report)["relocation.target_acl"]
    ok = preflight(demo_sandbox, loop_fs(EXT4) / "OMERO")
    assert ok.ok, ok.failures
    assert "relocation.target_xattrs" in {c.code for c in ok.checks if c.status == "pass"}


def test_the_probes_leave_the_target_exactly_as_it_was(
    demo_sandbox: DemoSandbox, loop_fs: Callable[..., Path]
) -> None:
    os.setxattr(demo_sandbox.data_dir / "Files", "user.note", b"n" * 200)
    (demo_sandbox.data_dir / "Files" / "link").symlink_to("l" * 300)
    disk = loop_fs(EXT4)
    (disk / "OMERO").mkdir()  # an existing, empty target: the probes run inside it
    before = snapshot(disk)
    assert preflight(demo_sandbox, disk / "OMERO").ok
    assert snapshot(disk) == before  # names, modes, xattrs, mtimes
    assert not [n for n in os.listdir(disk / "OMERO") if n.startswith(PROBE_PREFIX)]


def test_a_source_path_beyond_path_max_is_named_for_that_reason(
    demo_sandbox: DemoSandbox, loop_fs: Callable[..., Path]
) -> None:
    top = demo_sandbox.data_dir / "Files"
    fd = os.open(top, os.O_RDONLY)
    depth = 0
    while len(os.fsencode(str(top))) + depth * 201 < PATH_MAX + 200:
        os.mkdir("d" * 200, dir_fd=fd)
        inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd, depth = inner, depth + 1
    os.close(os.open("deepest.tif", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)
    scan = scan_tree(str(demo_sandbox.data_dir))
    assert scan.too_long and not scan.unreadable
    report = preflight(demo_sandbox, loop_fs(EXT4) / "OMERO")
    assert "relocation.source_unreadable" not in failed(report)
    reason = failed(report)["relocation.source_path_too_long"]
    assert f"{top}/{'d' * 200}/" in reason and "PATH_MAX" in reason, reason
    assert "could not be listed" not in " ".join(c.reason for c in report.checks)


def test_first_misfit_names_the_first_in_order_with_few_tries() -> None:
    entries = [scan_entry(f"e{n}", size) for n, size in enumerate([5, 900, 40, 1200, 7, 1000])]
    tried: list[int] = []

    def fits(entry: object) -> bool:
        tried.append(entry.size)  # type: ignore[attr-defined]
        return entry.size < 1000  # type: ignore[attr-defined]

    found = first_misfit(entries, lambda e: e.size, fits)
    assert found is not None and found.rel == "e3"  # 1200 comes before 1000 in order
    assert tried[0] == 1200 and len(tried) <= 4
    assert first_misfit(entries, lambda e: e.size, lambda e: True) is None


def scan_entry(rel: str, size: int):  # noqa: ANN201
    from omero_tui.core.relocation.tree_scan import Entry

    return Entry(rel, "file", 0o100644, 0, 0, size, 0, 0, 0, 0, 0, 1)


def test_a_run_that_is_not_root_is_refused_when_it_could_not_keep_the_owners_simulated(
    demo_sandbox: DemoSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = demo_sandbox.data_dir / "Files" / "theirs.tif"
    foreign.write_bytes(b"II*\x00")
    os.chown(foreign, 4242, 4242)
    location = discover(server_dir_arg=str(demo_sandbox.server_dir), env={}, candidates=[])
    plan, _ = build_plan(location, str(demo_sandbox.second_volume / "OMERO"), env={})
    scan = scan_tree(plan.source_real)
    assert owner_checks(plan, scan) == []  # root keeps every owner
    # The admin's own account (simulated: uid 1000) owns everything but that one file.
    mine = tuple(e if e.uid == 4242 else e._replace(uid=1000, gid=1000) for e in scan.entries)
    scan = replace(scan, entries=mine)
    monkeypatch.setattr(preflight_fit.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(preflight_fit.os, "getegid", lambda: 1000)
    monkeypatch.setattr(preflight_fit.os, "getgroups", lambda: [1000])
    (refused,) = owner_checks(plan, scan)
    assert refused.code == "relocation.owners_need_root"
    assert refused.reason.startswith(f"{foreign} belongs to 4242:4242, and only root")
