"""The re-verification before the old copy is deleted, and the Bio-Formats cache clearing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from omero_tui.core.relocation.remove_source import clear_bioformats_cache, delete_tree, reverify


def two_copies(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "old"
    for rel, data in {
        "Files/1": b"original file",
        "FullText/_0.cfs": b"index",
        "BioFormatsCache/x/.a.bfmemo": b"memo",
        ".omero/repository/db/repo_uuid": b"\x00\x01x",
    }.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    (source / "Files" / "link").symlink_to("1")
    target = tmp_path / "new"
    shutil.copytree(source, target, symlinks=True)
    return source, target


def test_the_server_may_rewrite_its_index_and_cache_but_nothing_else(tmp_path: Path) -> None:
    source, target = two_copies(tmp_path)
    assert reverify(str(source), str(target)).total_problems == 0
    (target / "FullText" / "_0.cfs").write_bytes(b"merged by the Indexer")
    (target / "BioFormatsCache" / "x" / ".a.bfmemo").unlink()
    (target / ".omero" / "repository" / "db" / ".lock").write_bytes(b"")
    assert reverify(str(source), str(target)).total_problems == 0
    (target / "Files" / "1").write_bytes(b"changed file!")
    (target / "Files" / "link").unlink()
    check = reverify(str(source), str(target))
    assert check.total_problems == 2
    assert any(p.startswith("Files/1:") for p in check.problems)
    assert any("Files/link: missing" in p for p in check.problems)


def test_delete_tree_keeps_a_mount_point_root(tmp_path: Path) -> None:
    source, _ = two_copies(tmp_path)
    removed = delete_tree(str(source), keep_root=True)
    assert source.is_dir() and list(source.iterdir()) == []
    assert removed == 12  # 5 files and links, 7 directories


def test_clear_bioformats_cache_only_clears_such_a_cache(tmp_path: Path) -> None:
    source, _ = two_copies(tmp_path)
    with pytest.raises(ValueError):
        clear_bioformats_cache(str(source / "Files"))
    assert clear_bioformats_cache(str(source / "BioFormatsCache")) == 2
    assert (source / "BioFormatsCache").is_dir()
    assert list((source / "BioFormatsCache").iterdir()) == []
