"""Which properties follow the repository, how they are written, and the exact restore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import ConfigLockedError, read_config, write_config
from omero_tui.core.relocation.config_rewrite import (
    apply_changes,
    planned_changes,
    relative_under,
    restore_config,
)


def config_with(tmp_path: Path, props: dict[str, str]) -> Path:
    path = tmp_path / "config.xml"
    write_config(path, props, env={})
    return path


def test_data_move_rewrites_only_paths_set_explicitly_under_the_old_location(
    tmp_path: Path,
) -> None:
    path = config_with(
        tmp_path,
        {
            "omero.data.dir": "/OMERO",
            "omero.managed.dir": "/OMERO/ManagedRepository",
            "omero.pixeldata.memoizer.dir": "${omero.data.dir}/BioFormatsCache",
            "omero.fs.watchDir": "/elsewhere/DropBox",
            "omero.db.name": "omero",
        },
    )
    doc = read_config(path)
    changes = planned_changes(doc, "default", "data", "/OMERO", "/data2/OMERO", data_dir="/OMERO")
    assert {c.key: c.new for c in changes} == {
        "omero.data.dir": "/data2/OMERO",
        "omero.managed.dir": "/data2/OMERO/ManagedRepository",
    }
    result = apply_changes(str(path), changes, expect=doc, env={})
    after = read_config(path).properties("default")
    assert after["omero.pixeldata.memoizer.dir"] == "${omero.data.dir}/BioFormatsCache"
    assert after["omero.fs.watchDir"] == "/elsewhere/DropBox"
    assert after["omero.db.name"] == "omero"
    assert result.backup is not None and result.backup.exists()


def test_managed_only_move_sets_omero_managed_dir(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"omero.data.dir": "/OMERO"})
    changes = planned_changes(
        read_config(path),
        "default",
        "managed",
        "/OMERO/ManagedRepository",
        "/big/Managed",
        data_dir="/OMERO",
    )
    assert [(c.key, c.old, c.new) for c in changes] == [("omero.managed.dir", None, "/big/Managed")]


def test_values_are_ice_escaped_so_the_server_reads_the_path_back(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"omero.data.dir": "/OMERO"})
    changes = planned_changes(
        read_config(path), "default", "data", "/OMERO", "/data/#1 OMERO", data_dir="/OMERO"
    )
    assert changes[0].new == "/data/\\#1 OMERO"


def test_windows_paths_compare_without_case_and_keep_backslashes() -> None:
    assert relative_under(r"C:\omero\ManagedRepository", r"C:\OMERO") == "ManagedRepository"
    assert relative_under(r"D:\other", r"C:\OMERO") is None
    assert relative_under("/OMERO2/x", "/OMERO") is None


def test_restore_puts_back_the_exact_original_bytes(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"omero.data.dir": "/OMERO"})
    original = path.read_bytes()
    write_config(path, {"omero.data.dir": "/new"}, env={})
    assert restore_config(str(path), original) is True
    assert path.read_bytes() == original
    assert restore_config(str(path), original) is False


def test_a_held_config_lock_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"omero.data.dir": "/OMERO"})
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from omero_tui.core.config.lock import exclusive_lock\n"
            "with exclusive_lock(Path(sys.argv[1]), 5):\n"
            "    print('held', flush=True); time.sleep(30)",
            str(path) + ".lock",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        doc = read_config(path)
        changes = planned_changes(doc, "default", "data", "/OMERO", "/x", data_dir="/OMERO")
        with pytest.raises(ConfigLockedError, match="held by pid"):
            apply_changes(str(path), changes, expect=doc, env={}, lock_timeout=0.3)
        with pytest.raises(ConfigLockedError):
            restore_config(str(path), b"other", lock_timeout=0.3)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert path.read_bytes() == before
