"""What a rollback removes from the target and the config dir, and what it must keep."""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.relocation.config_rewrite import config_dir_names, writer_leftovers
from omero_tui.core.relocation.copy_tree import TEMP_PREFIX, copy_entries, make_directories
from omero_tui.core.relocation.target_state import (
    describe_parent,
    remove_copy,
    restore_parent,
)
from omero_tui.core.relocation.tree_scan import scan_tree


def _source(root: Path) -> Path:
    source = root / "source"
    (source / "Pixels").mkdir(parents=True)
    (source / "Pixels" / "1").write_bytes(b"pixels one")
    (source / "Pixels" / "2").write_bytes(b"pixels two")
    (source / "Files").mkdir()
    (source / "Files" / "link").symlink_to("../Pixels/1")
    return source


def _copy(source: Path, target: Path) -> None:
    target.mkdir()
    scan = scan_tree(str(source))
    make_directories(scan, str(target))
    copy_entries(scan, str(target), on_batch=lambda _batch: None)


def test_removes_the_copy_and_keeps_what_changed_or_was_added_since(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = tmp_path / "target"
    _copy(source, target)
    # What a server started on the new location might do before a rollback:
    (target / "Pixels" / "2").write_bytes(b"rewritten by the server")
    (target / "Pixels" / "3").write_bytes(b"new pixels")
    (target / "Files" / f"{TEMP_PREFIX}9").write_bytes(b"half a file from a killed copy")
    cleanup = remove_copy(str(target), str(source))
    assert cleanup.left == ("Pixels/2", "Pixels/3")
    assert sorted(os.listdir(target)) == ["Pixels"]
    assert (target / "Pixels" / "2").read_bytes() == b"rewritten by the server"
    assert (source / "Pixels" / "2").read_bytes() == b"pixels two"  # never touched


def test_a_copy_untouched_since_is_removed_whole(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = tmp_path / "target"
    _copy(source, target)
    cleanup = remove_copy(str(target), str(source))
    assert cleanup.left == () and os.listdir(target) == []


def test_a_parent_gets_its_times_back_only_when_its_listing_is_as_before(tmp_path: Path) -> None:
    parent = tmp_path / "volume"
    parent.mkdir()
    os.utime(parent, ns=(1_000_000_000, 2_000_000_000))
    before = describe_parent(str(parent))
    (parent / "OMERO").mkdir()
    (parent / "OMERO").rmdir()
    assert parent.stat().st_mtime_ns != 2_000_000_000
    assert restore_parent(before)
    assert parent.stat().st_mtime_ns == 2_000_000_000
    (parent / "someone else's").mkdir()
    changed = parent.stat().st_mtime_ns
    assert not restore_parent(before)  # a name added meanwhile keeps the time that shows it
    assert parent.stat().st_mtime_ns == changed


def test_what_a_killed_config_write_left_is_found_and_nothing_else(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    grid.mkdir()
    config = grid / "config.xml"
    config.write_bytes(b"<icegrid>original</icegrid>")
    (grid / "config.xml.bak-20250101T000000Z").write_bytes(b"an older backup")
    names = config_dir_names(str(config))
    (grid / ".config.xml.bak-k2j3h4").write_bytes(b"<icegrid>orig")  # mkstemp, killed
    (grid / "config.xml.temp").write_bytes(b"<icegrid>new</ice")  # killed mid-replace
    (grid / "config.xml.bak-20260101T000000Z").write_bytes(config.read_bytes())
    (grid / "config.xml.bak-20260101T000000Z-2").write_bytes(b"not the original")
    (grid / "admin-notes.txt").write_bytes(b"the admin's")
    found = writer_leftovers(str(config), names, config.read_bytes())
    assert sorted(Path(p).name for p in found) == [
        ".config.xml.bak-k2j3h4",
        "config.xml.bak-20260101T000000Z",
        "config.xml.temp",
    ]
