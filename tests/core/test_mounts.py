"""Mount table: recorded /proc/self/mountinfo samples, the live table, a real tmpfs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omero_tui.core import mounts
from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.layout.inspection import inspect_layout
from omero_tui.core.mounts import (
    MountInfo,
    MountTable,
    describe_device,
    is_mount_point,
    mount_of,
    parse_mountinfo,
)
from tests.mountkit import mount_tmpfs, unmount

# Recorded from real machines (a laptop, an NFS client, a container), trimmed.
RECORDED_SAMPLE = rb"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
36 27 8:17 / /mnt/big\040disk rw,noatime shared:12 master:3 - xfs /dev/sdb1 rw,attr2,inode64
37 27 0:52 / /data/omero rw shared:40 - nfs4 nas:/export/omero rw,vers=4.2,local_lock=none
38 27 0:53 / /data/old rw,relatime - nfs nas:/export/old rw,vers=3,nolock,local_lock=all
39 27 8:18 /subvol /mnt/tab\011and\134back rw - btrfs /dev/sdb2 rw
40 27 0:60 / /data/omero/Pixels rw,relatime - tmpfs tmpfs rw,size=1024k
41 27 0:61 / /data/omero/Pixels rw,relatime - tmpfs tmpfs rw,size=2048k
42 27 0:62 / /dev/shm rw - tmpfs none\040with\040space rw
this line is not mountinfo
43 27 x:y / /broken rw - ext4 /dev/sdz rw
"""


def recorded_sample() -> MountTable:
    return MountTable(parse_mountinfo(RECORDED_SAMPLE), has_devices=True)


def by_point(table: MountTable, point: str) -> MountInfo:
    return next(m for m in reversed(table.mounts) if m.mount_point == point)


def dev(major: int, minor: int) -> int:
    return os.makedev(major, minor)


# --- parsing recorded samples --------------------------------------------------------


def test_recorded_sample_parses_fields_and_skips_junk() -> None:
    table = recorded_sample()
    assert len(table.mounts) == 9  # the two malformed lines are skipped
    root = by_point(table, "/")
    assert (root.source, root.fstype, root.device) == ("/dev/vda", "ext4", (254, 0))
    assert root.options == ("rw", "relatime")
    assert root.super_options == ("rw", "discard")
    assert (root.mount_id, root.parent_id, root.root) == (27, 1, "/")


def test_recorded_sample_unescapes_octal_in_paths() -> None:
    table = recorded_sample()
    points = [m.mount_point for m in table.mounts]
    assert "/mnt/big disk" in points
    assert "/mnt/tab\tand\\back" in points
    assert by_point(table, "/dev/shm").source == "none with space"
    assert by_point(table, "/mnt/tab\tand\\back").root == "/subvol"


def test_recorded_sample_optional_fields_do_not_shift_the_rest() -> None:
    big = by_point(recorded_sample(), "/mnt/big disk")  # has shared:12 master:3
    assert (big.fstype, big.source) == ("xfs", "/dev/sdb1")
    assert big.super_options == ("rw", "attr2", "inode64")


def test_recorded_sample_nfs_options() -> None:
    table = recorded_sample()
    nfs4 = by_point(table, "/data/omero")
    assert nfs4.option("vers") == "4.2"
    assert nfs4.option("local_lock") == "none"
    assert nfs4.option("nolock") is None
    old = by_point(table, "/data/old")
    assert old.option("nolock") == ""
    assert old.option("local_lock") == "all"
    assert "relatime" in old.all_options and "vers=3" in old.all_options


def test_recorded_sample_longest_prefix_wins() -> None:
    table = recorded_sample()
    assert table.lookup("/data/omero/Files/x").mount_point == "/data/omero"
    assert table.lookup("/data/omero").mount_point == "/data/omero"
    assert table.lookup("/data/omeroX/y").mount_point == "/"  # not a path prefix
    assert table.lookup("/mnt/big disk/OMERO").fstype == "xfs"
    assert table.lookup("/srv/OMERO").describe() == "/dev/vda on / (ext4)"


def test_recorded_sample_later_mount_covers_earlier_one() -> None:
    table = recorded_sample()
    assert table.lookup("/data/omero/Pixels/Dir-001").device == (0, 61)
    # st_dev says the earlier one, e.g. the later mount was lazily detached: trust st_dev.
    assert table.lookup("/data/omero/Pixels/Dir-001", dev(0, 60)).device == (0, 60)


def test_recorded_sample_st_dev_overrides_a_shadowed_prefix() -> None:
    # /data/omero mounted over the Pixels mounts' parent would hide them: st_dev tells.
    table = recorded_sample()
    assert table.lookup("/data/omero/Pixels/x", dev(0, 52)).mount_point == "/data/omero"


def test_recorded_sample_unconfirmed_device_falls_back_to_longest_prefix() -> None:
    # btrfs and overlay report other st_dev numbers than mountinfo does.
    table = recorded_sample()
    assert table.lookup("/mnt/big disk/a", dev(0, 999)).mount_point == "/mnt/big disk"


def test_empty_table_knows_nothing() -> None:
    assert MountTable([]).lookup("/anything") is None
    assert MountTable([]).describe_device("/") == ""


# --- the live table ---------------------------------------------------------------------


def test_live_mount_of_tmp_path_agrees_with_st_dev(tmp_path: Path) -> None:
    table = MountTable.read()
    mount = table.mount_of(tmp_path)
    assert mount is not None
    real = os.path.realpath(tmp_path)
    assert real == mount.mount_point or real.startswith(mount.mount_point.rstrip("/") + "/")
    st_dev = os.stat(tmp_path).st_dev
    if table.has_devices and any(
        m.device == (os.major(st_dev), os.minor(st_dev)) for m in table.mounts
    ):
        assert mount.device == (os.major(st_dev), os.minor(st_dev))
    else:
        print("st_dev of tmp_path not in the mount table (btrfs/overlay?): prefix only")


def test_live_functions_without_a_table(tmp_path: Path) -> None:
    assert mount_of(tmp_path) is not None
    assert " on " in describe_device(tmp_path)
    assert is_mount_point("/")
    assert not is_mount_point(tmp_path)


def test_path_not_there_yet_uses_its_nearest_ancestor(tmp_path: Path) -> None:
    table = MountTable.read()
    assert table.mount_of(tmp_path / "not" / "yet") == table.mount_of(tmp_path)


def test_symlink_is_never_a_mount_point(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/")
    assert not is_mount_point(tmp_path / "link")
    assert mount_of(tmp_path / "link") == mount_of("/")  # the real path decides


def test_psutil_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Loaded first, as this platform's: imported under the pretended platform below, it
    # would pick macOS's backend (this test alone, or first in its worker, failed so).
    pytest.importorskip("psutil")
    monkeypatch.setattr(mounts.sys, "platform", "darwin")
    table = MountTable.read()
    assert not table.has_devices
    assert table.mounts, "psutil listed no partitions"
    mount = table.mount_of(tmp_path)
    assert mount is not None
    assert os.stat(mount.mount_point).st_dev == os.stat(tmp_path).st_dev


# --- a real mount ----------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Path:
    point = mount_tmpfs(tmp_path / "Pixels", make=True)
    yield point
    unmount(point)


def test_tmpfs_is_a_mount_point_and_the_layout_says_so(tmpfs: Path, tmp_path: Path) -> None:
    table = MountTable.read()
    assert table.is_mount_point(tmpfs)
    inside = table.mount_of(tmpfs / "Dir-001")
    assert inside is not None
    assert (inside.mount_point, inside.fstype) == (str(tmpfs), "tmpfs")
    assert inside.option("size") == "1024k"
    assert table.mount_of(tmp_path) != inside

    data = Determined(str(tmp_path), "test")
    location = ServerLocation(
        Determined(None, "none"),
        None,
        Determined(None, "none"),
        data,
        Determined(str(tmp_path / "ManagedRepository"), "test"),
    )
    report = inspect_layout(location, postgres_dirs=[], client_dirs=[])
    pixels = next(e for e in report.subdirs if e.name == "Pixels")
    assert pixels.state == "mount point"
    assert pixels.device == f"tmpfs on {tmpfs} (tmpfs)"
    other = [f for f in report.findings if f.code == "layout.other_device"]
    assert [f.path for f in other] == [str(tmpfs)]


def test_resolved_mount_point_agrees_with_is_mount_point(tmp_path: Path) -> None:
    """The Layout's probe resolves each directory once: the answer must not change."""
    (tmp_path / "plain" / "deeper").mkdir(parents=True)
    os.symlink(tmp_path / "plain", tmp_path / "via-link")  # an ancestor that is a symlink
    live = MountTable.read()
    points = [m.mount_point for m in live.mounts if os.path.isdir(m.mount_point)][:40]
    here = [tmp_path, tmp_path / "plain", tmp_path / "via-link" / "deeper"]
    paths = [*points, "/", *map(str, here)]
    for table in (live, MountTable([])):  # empty: only the device test can tell
        for path in paths:
            if os.path.islink(path):
                continue
            real, lst = os.path.realpath(path), os.lstat(path)
            assert table.is_resolved_mount_point(real, lst) == table.is_mount_point(path), path


def test_a_mount_the_table_misses_is_still_a_mount_point(tmpfs: Path) -> None:
    assert MountTable([]).is_resolved_mount_point(str(tmpfs), os.lstat(tmpfs))
    assert not MountTable([]).is_resolved_mount_point(str(tmpfs.parent), os.lstat(tmpfs.parent))
