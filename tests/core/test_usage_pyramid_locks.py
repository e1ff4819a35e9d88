"""Pyramid lock files found by the usage walk, so a check lists Pixels only once.

Every way of walking (in-process, worker processes, threads, the ncdu export, a quick
rescan and the cache) must find exactly the lock files that the locks area's own walk
of Pixels finds; and ``check`` must then judge them without walking Pixels again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omero_tui.core.discovery import discover
from omero_tui.core.health.check import run_health_check
from omero_tui.core.locks import files as lock_files
from omero_tui.core.record import replace
from omero_tui.core.usage.assemble import pyramid_lock_paths
from omero_tui.core.usage.cache import load_walk, save_scan
from omero_tui.core.usage.export import export_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.quick import quick_rescan
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.service import UsageService
from tests.bench.usage_tree import make_tricky_tree


def own_walk(data: Path) -> list[str]:
    """What the locks area finds by listing Pixels itself."""
    found, complete = lock_files.find_lock_files(str(data), str(data / "ManagedRepository"))
    assert complete
    return sorted(p for p, kind in found if kind == "pyramid")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    data = make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")
    pixels = data / "Pixels"
    (pixels / ".7_pyramid.pyr_lock").write_bytes(b"")
    deep = pixels / "Dir-001" / "Dir-234"
    deep.mkdir(parents=True, exist_ok=True)
    (deep / ".1234567_pyramid.pyr_lock").write_bytes(b"")
    (deep / "1234567_pyramid").write_bytes(b"p" * 3000)
    # Not pyramid locks: outside Pixels, or named otherwise.
    (data / "Files" / ".9_pyramid.pyr_lock").write_bytes(b"")
    (pixels / "8_pyramid.pyr_lock").write_bytes(b"")
    return data


def test_every_walk_finds_the_lock_files_the_locks_walk_finds(tree: Path, tmp_path: Path) -> None:
    expected = own_walk(tree)
    assert {Path(p).name for p in expected} == {".1234567_pyramid.pyr_lock", ".7_pyramid.pyr_lock"}
    walks = {
        "in process": scan_usage(str(tree), pool=ScanPool(0)).raw,
        "workers": scan_usage(str(tree), pool=ScanPool(2, inline=0)).raw,
        "threads": scan_usage(str(tree), concurrency="threads").raw,
        "export": export_scan(str(tree), tmp_path / "export.json").raw,
    }
    for how, walk in walks.items():
        assert pyramid_lock_paths(walk) == expected, how


def test_a_quick_rescan_keeps_unchanged_ones_and_sees_new_and_removed(tree: Path) -> None:
    full = scan_usage(str(tree), pool=ScanPool(0))
    assert pyramid_lock_paths(quick_rescan(full).raw) == own_walk(tree)
    (tree / "Pixels" / ".7_pyramid.pyr_lock").unlink()
    (tree / "Pixels" / "Dir-001" / ".55_pyramid.pyr_lock").write_bytes(b"")
    quick = quick_rescan(full)
    assert 0 < quick.listed_dirs < 5  # only the two changed directories were listed
    assert pyramid_lock_paths(quick.raw) == own_walk(tree)
    assert [Path(p).name for p in own_walk(tree)] == [
        ".55_pyramid.pyr_lock",
        ".1234567_pyramid.pyr_lock",
    ]


def test_the_cache_keeps_them(tree: Path, tmp_path: Path) -> None:
    scan = scan_usage(str(tree), pool=ScanPool(0))
    save_scan(scan, tmp_path / "state")
    walk = load_walk(tmp_path / "state", str(tree))
    assert walk is not None and pyramid_lock_paths(walk) == own_walk(tree)


def test_another_filesystem_under_pixels_means_unknown(tree: Path) -> None:
    walk = scan_usage(str(tree), pool=ScanPool(0)).raw
    # A du -x walk leaves a mount under Pixels out, lock files and all: not an answer.
    unwalked = replace(walk, mounts=[*walk.mounts, (0, "Pixels/Dir-002")])
    assert pyramid_lock_paths(unwalked) is None
    elsewhere = replace(walk, mounts=[*walk.mounts, (0, "Files/Dir-000")])
    assert pyramid_lock_paths(elsewhere) == own_walk(tree)


def test_check_judges_them_without_listing_pixels_again(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = discover(data_dir_arg=str(tree), candidates=(), env={})
    with UsageService(tmp_path / "state") as service:
        first = run_health_check(location, usage=service, state_dir=tmp_path / "state")

        def no_second_walk(pixels: str, budget: int) -> tuple[list[str], bool]:
            raise AssertionError(f"Pixels listed again: {pixels}")

        monkeypatch.setattr(lock_files, "_pyramid_locks", no_second_walk)
        for mode in ("full", "quick"):
            again = run_health_check(
                location, usage=service, usage_mode=mode, state_dir=tmp_path / "state"
            )
            assert _stale_pyramids(again) == _stale_pyramids(first) == 2, mode


def _stale_pyramids(report) -> int:  # noqa: ANN001
    """How many stale pyramid lock files the locks area reports (its one finding says)."""
    locks = next(a for a in report.areas if a.area == "locks")
    (finding,) = [f for f in locks.findings if f.code == "locks.stale_pyramid_lock"]
    assert "locks.pyramid_search_incomplete" not in [f.code for f in locks.findings]
    return int(finding.message.split()[0]) if finding.message[0].isdigit() else 1


def test_no_pixels_no_lock_files(tmp_path: Path) -> None:
    data = tmp_path / "OMERO"
    (data / "Files").mkdir(parents=True)
    walk = scan_usage(str(data), pool=ScanPool(0)).raw
    assert pyramid_lock_paths(walk) == []
    assert not os.path.exists(data / "Pixels")
