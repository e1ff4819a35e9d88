"""Quick rescan and the scan cache: reuse only what cannot have changed, and say so."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from omero_tui.core.usage.cache import cache_path, load_scan, save_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.quick import quick_rescan
from omero_tui.core.usage.scan import scan_usage
from tests.bench.usage_tree import gnu_du, gnu_find_files, make_tricky_tree
from tests.mountkit import mount_tmpfs, unmount


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    return make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")


def same_figures(a, b) -> None:  # noqa: ANN001
    assert a.totals == b.totals
    assert [(u.name, u.totals) for u in a.units] == [(u.name, u.totals) for u in b.units]
    assert a.external_links == b.external_links
    assert dict(a.growth.total_by_mtime) == dict(b.growth.total_by_mtime)
    assert dict(a.growth.managed_by_import) == dict(b.growth.managed_by_import)


def test_unchanged_tree_reuses_every_directory(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    quick = quick_rescan(full)
    same_figures(quick, full)
    assert quick.quick and quick.reused_dirs == full.totals.dirs and quick.listed_dirs == 0
    assert quick.full_scan_at == full.started_at
    assert all(u.reused for u in quick.units)


def test_changes_are_seen_and_match_a_full_scan_and_du(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    (tricky / "Pixels/Dir-001/2001").write_bytes(b"n" * 70_000)  # a new file
    shutil.rmtree(tricky / "BioFormatsCache/x")  # a subtree gone
    os.link(tricky / "Files/shared", tricky / "Files/Dir-000/linked")  # a known inode
    new_dir = tricky / "Thumbnails/Dir-009/deeper"
    new_dir.mkdir(parents=True)
    (new_dir / "t").write_bytes(b"t" * 5000)
    quick = quick_rescan(full)
    again = scan_usage(str(tricky), pool=ScanPool(0))
    same_figures(quick, again)
    assert quick.totals.allocated_bytes == gnu_du(tricky)[0]
    assert quick.totals.apparent_bytes == gnu_du(tricky, apparent=True)[0]
    assert quick.totals.files == gnu_find_files(tricky)
    assert 0 < quick.listed_dirs < 10
    reused = {u.name: u.reused for u in quick.units}
    assert reused["ManagedRepository"] and not reused["Pixels"]
    assert quick.fallback is None


def test_a_new_link_to_a_file_in_an_unchanged_directory_forces_a_full_scan(tricky) -> None:  # noqa: ANN001
    """Its other path was counted as an unlinked file there: only a full scan can tell."""
    full = scan_usage(str(tricky), pool=ScanPool(0))
    os.link(tricky / "FullText/_0.cfs", tricky / "Files/Dir-000/linked")
    quick = quick_rescan(full, pool=ScanPool(0))
    assert not quick.quick and "hard link" in (quick.fallback or "")
    assert quick.totals.allocated_bytes == gnu_du(tricky)[0]
    assert quick.totals.apparent_bytes == gnu_du(tricky, apparent=True)[0]
    # Once known, the link no longer stops a quick rescan.
    assert quick_rescan(quick).quick


def test_a_file_changed_in_place_is_what_a_quick_rescan_misses(tricky) -> None:  # noqa: ANN001
    """The documented limit: no directory changes when a file grows in place."""
    full = scan_usage(str(tricky), pool=ScanPool(0))
    mtime = os.stat(tricky / "Files/Dir-000").st_mtime_ns
    with open(tricky / "Files/Dir-000/0", "ab") as grow:
        grow.write(b"g" * 100_000)
    assert os.stat(tricky / "Files/Dir-000").st_mtime_ns == mtime
    assert quick_rescan(full).totals == full.totals
    assert scan_usage(str(tricky), pool=ScanPool(0)).totals != full.totals


def test_touched_directory_mtime_alone_does_not_fool_it(tricky) -> None:  # noqa: ANN001
    """Resetting a directory's mtime (rsync -t, the demo builder) still changes its ctime."""
    full = scan_usage(str(tricky), pool=ScanPool(0))
    folder = tricky / "Files/Dir-000"
    before = os.stat(folder)
    (folder / "sneaky").write_bytes(b"s" * 8192)
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    quick = quick_rescan(full)
    assert quick.unit("Files").totals.files == full.unit("Files").totals.files + 1


def test_cache_round_trip_then_quick_rescan_from_it(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    full = scan_usage(str(tricky), pool=ScanPool(2, inline=0))
    path = save_scan(full, state)
    assert path == cache_path(state, str(tricky))
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_scan(state, str(tricky))
    assert loaded is not None
    same_figures(loaded, full)
    assert loaded.problems == full.problems and loaded.finished_at == full.finished_at
    (tricky / "Files/new").write_bytes(b"z" * 4096)
    quick = quick_rescan(loaded)
    assert quick.totals.files == full.totals.files + 1
    assert load_scan(state, str(tmp_path / "other")) is None


def test_damaged_cache_is_ignored(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    path = save_scan(scan_usage(str(tricky), pool=ScanPool(0)), state)
    path.write_bytes(path.read_bytes()[:1000])
    assert load_scan(state, str(tricky)) is None
    path.write_bytes(b"not marshal at all")
    assert load_scan(state, str(tricky)) is None


def test_a_mount_gone_since_is_walked_and_a_new_one_left_out(tricky) -> None:  # noqa: ANN001
    """Mounting and unmounting change no directory's mtime: the quick rescan looks anyway."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    nested = tricky / "Pixels/Dir-001/mounted"
    later = tricky / "Files/Dir-000/later"
    nested.mkdir()
    later.mkdir()
    (nested / "under").write_bytes(b"u" * 30_000)  # hidden once the tmpfs is on top
    mounted = []
    try:
        mount_tmpfs(nested, "size=4m")
        mounted.append(nested)
        (nested / "on-tmpfs").write_bytes(b"m" * 40_000)
        full = scan_usage(str(tricky), pool=ScanPool(0))
        assert full.nested_mounts == (str(nested),)
        unmount(nested, check=True)
        mounted.remove(nested)
        mount_tmpfs(later, "size=4m")
        mounted.append(later)
        (later / "on-tmpfs").write_bytes(b"l" * 50_000)
        quick = quick_rescan(full)
        assert quick.quick and quick.fallback is None
        assert quick.nested_mounts == (str(later),)
        assert quick.totals.allocated_bytes == gnu_du(tricky)[0]
        assert quick.totals.apparent_bytes == gnu_du(tricky, apparent=True)[0]
        assert quick.totals.files == gnu_find_files(tricky)
        same_figures(quick, scan_usage(str(tricky), pool=ScanPool(0)))
    finally:
        for where in mounted:
            unmount(where, check=True)
