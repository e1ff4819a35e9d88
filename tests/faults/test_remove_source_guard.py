"""``--remove-source`` after a complete relocation, with the old path leading to the new
copy (a bind mount of the copy onto the old path, or the new volume mounted again at the
old copy's parent) or still named by config.xml: it and its dry run refuse in one line,
and not one entry of either copy is deleted. Real tmpfs and bind mounts (root only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from omero_tui.core.config.xml_file import read_config, render_config, with_changes
from omero_tui.core.demo.standin_server import running_pid
from tests.core.relocation.test_engine_demo import repository
from tests.faults.scene import Scene, one_line

SAFETY_CATEGORY = "Remove source"


def _bind(scene: Scene, what: Path, where: Path) -> None:
    subprocess.run(["mount", "--bind", str(what), str(where)], check=True, capture_output=True)
    scene.mounts.append(where)


def _relocated(scene: Scene, source: Path, target: Path) -> None:
    done = scene.cli("--to", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    assert running_pid(scene.box.server_dir) is not None


def _both_refuse(scene: Scene, *words: str) -> None:
    for extra in (("--dry-run",), ("--yes",)):
        done = scene.cli("--remove-source", *extra)
        assert done.returncode == 1, (extra, done.stdout, done.stderr)
        line = one_line(done.stderr)
        assert "nothing was deleted" in line and all(w in line for w in words), line
        assert "SOURCE REMOVED" not in done.stdout and "would delete" not in done.stdout


def test_copy_bind_mounted_onto_the_old_path_is_never_deleted(scene: Scene) -> None:
    """`mount --bind NEW OLD` after a complete relocation: --remove-source and its dry
    run refuse ("the same directory"), nothing deleted from either copy."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    source, target = box.data_dir, disk / "OMERO"
    _relocated(scene, source, target)
    old_copy = repository(source)
    _bind(scene, target, source)
    live = repository(target)
    _both_refuse(scene, "same directory", str(target))
    assert repository(target) == live and running_pid(box.server_dir) is not None
    scene.unmount(source)
    assert repository(source) == old_copy


def test_new_volume_mounted_at_the_old_copys_parent_is_never_deleted(scene: Scene) -> None:
    """The new volume mounted again at the old copy's parent (old paths kept working):
    --remove-source and its dry run refuse, nothing deleted from either copy."""
    box = scene.box
    parent = box.root / "oldvol"
    parent.mkdir()
    source = parent / "OMERO"
    _relocated(scene, box.data_dir, source)  # one rename: the old copy now lives in oldvol/
    disk = scene.tmpfs(box.second_volume / "disk")
    target = disk / "OMERO"
    _relocated(scene, source, target)
    old_copy = repository(source)
    _bind(scene, disk, parent)  # oldvol/OMERO is now the new copy
    live = repository(target)
    _both_refuse(scene, "same directory")
    assert repository(target) == live and running_pid(box.server_dir) is not None
    scene.unmount(parent)
    assert repository(source) == old_copy


def test_a_mount_inside_the_old_copy_is_never_crossed(scene: Scene) -> None:
    """Another filesystem mounted inside the old copy after the relocation: refused,
    naming the mount; the removal never deletes across a mount."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    _relocated(scene, box.data_dir, disk / "OMERO")
    inner = scene.tmpfs(box.data_dir / "Files" / "elsewhere")
    (inner / "precious").write_bytes(b"not part of the repository")
    _both_refuse(scene, "mount point inside the old copy", str(inner))
    assert (inner / "precious").read_bytes() == b"not part of the repository"


def test_any_profile_still_naming_the_old_copy_is_refused(scene: Scene) -> None:
    """A profile other than the active one still sets omero.data.dir to the old copy:
    refused, naming the profile; once it is changed the dry run lists what has no copy."""
    box = scene.box
    disk = scene.tmpfs(box.second_volume / "disk")
    source, target = box.data_dir, disk / "OMERO"
    _relocated(scene, source, target)
    original = box.config_path.read_bytes()
    legacy = with_changes(read_config(box.config_path), "legacy", {"omero.data.dir": str(source)})
    box.config_path.write_bytes(render_config(legacy))
    _both_refuse(scene, "config.xml profile legacy: omero.data.dir")
    box.config_path.write_bytes(original)
    memo = source / "BioFormatsCache" / "only-in-the-old-copy.bfmemo"
    memo.parent.mkdir(exist_ok=True)
    memo.write_bytes(b"memo")
    done = scene.cli("--remove-source", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"{memo} has no copy at the new location" in done.stdout
    assert "without a copy" in done.stdout and memo.exists()
