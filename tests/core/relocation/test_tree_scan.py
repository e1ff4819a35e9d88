"""The source scan: fixed order, links, specials, and a fingerprint that sees changes."""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.relocation.tree_scan import scan_tree
from tests.core.relocation.helpers import mount_tmpfs, unmount


def test_order_is_fixed_and_parents_come_first(tmp_path: Path) -> None:
    for rel in ("b/2", "a/z", "a/y/1", ".omero/repository/x/repo_uuid"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    rels = [e.rel for e in scan_tree(str(tmp_path)).entries]
    assert rels == [
        "",
        ".omero",
        ".omero/repository",
        ".omero/repository/x",
        ".omero/repository/x/repo_uuid",
        "a",
        "a/z",
        "a/y",
        "a/y/1",
        "b",
        "b/2",
    ]


def test_hard_links_inside_and_outside_and_collisions(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "one").write_bytes(b"x" * 10)
    os.link(tree / "one", tree / "two")
    (tree / "shared").write_bytes(b"y" * 20)
    os.link(tree / "shared", tmp_path / "outside")
    (tree / "Image.TIF").write_bytes(b"")
    (tree / "image.tif").write_bytes(b"")
    scan = scan_tree(str(tree))
    kinds = {e.rel: (e.kind, e.link) for e in scan.entries}
    assert kinds["one"] == ("file", None)
    assert kinds["two"] == ("hardlink", "one")
    assert scan.links_outside == ("shared",)
    assert scan.case_collisions == (("Image.TIF", "image.tif"),)
    assert scan.data_bytes == 30  # each inode once


def test_fingerprint_changes_when_the_source_changes(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    first = scan_tree(str(tmp_path)).fingerprint
    assert scan_tree(str(tmp_path)).fingerprint == first
    (tmp_path / "f").write_bytes(b"abcd")
    assert scan_tree(str(tmp_path)).fingerprint != first


def test_a_filesystem_mounted_inside_is_reported_not_entered(tmp_path: Path) -> None:
    mount_tmpfs(tmp_path / "ManagedRepository", "size=4m")
    try:
        (tmp_path / "ManagedRepository" / "inside").write_bytes(b"x")
        scan = scan_tree(str(tmp_path))
    finally:
        unmount(tmp_path / "ManagedRepository")
    assert scan.foreign_mounts == ("ManagedRepository",)
    assert all(not e.rel.startswith("ManagedRepository") for e in scan.entries)


def test_scanning_leaves_access_times_alone(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x")
    os.utime(tmp_path / "d", ns=(1_000_000_000, 2_000_000_000))
    scan_tree(str(tmp_path))
    assert (tmp_path / "d").stat().st_atime_ns == 1_000_000_000
