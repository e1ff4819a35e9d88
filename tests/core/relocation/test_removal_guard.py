"""The pieces of --remove-source's guard that need no mount: which configuration
sources still name the old copy, and directories told apart by device and inode."""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.removal_guard import (
    check_apart,
    check_nothing_names,
    names_old_path,
    other_source_pairs,
)


def test_a_source_names_the_old_path_when_it_is_it_or_below_it() -> None:
    pairs = [
        ("config.xml profile default: omero.data.dir", "/new/OMERO"),
        ("config.xml profile legacy: omero.managed.dir", "/OMERO/ManagedRepository"),
        ("environment variable CONFIG_omero_data_dir", "/OMERO/"),
        ("config.xml profile test: omero.data.dir", "/OMERO-test"),  # only a prefix
        ("/opt/omero/config/00-data.omero line 1", "'/OMERO'"),
    ]
    found = names_old_path(pairs, ["/OMERO"])
    assert found == [
        "config.xml profile legacy: omero.managed.dir = /OMERO/ManagedRepository",
        "environment variable CONFIG_omero_data_dir = /OMERO/",
        "/opt/omero/config/00-data.omero line 1 = '/OMERO'",
    ]
    with pytest.raises(RelocationRefused, match="legacy.*and 2 more.*nothing was deleted"):
        check_nothing_names(pairs, ["/OMERO"])
    check_nothing_names(pairs[:1], ["/OMERO"])


def test_ansible_files_and_docker_variables_are_sources(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "10-data.omero").write_text(
        "# moved in 2024\nconfig set omero.data.dir /OMERO\n"
    )
    pairs = other_source_pairs(str(tmp_path), {"CONFIG_omero_data_dir": "/OMERO", "HOME": "/"})
    assert ("environment variable CONFIG_omero_data_dir", "/OMERO") in pairs
    assert (f"{tmp_path}/config/10-data.omero line 2", "/OMERO") in pairs
    assert not any("line 1" in name for name, _ in pairs)


def test_the_same_directory_under_two_names_is_refused(tmp_path: Path) -> None:
    (tmp_path / "new" / "inner").mkdir(parents=True)
    (tmp_path / "old").symlink_to(tmp_path / "new")
    with pytest.raises(RelocationRefused, match="now a symlink"):
        check_apart(str(tmp_path / "old"), str(tmp_path / "new"))
    with pytest.raises(RelocationRefused, match="is inside the new copy"):
        check_apart(str(tmp_path / "new" / "inner"), str(tmp_path / "new"))
    with pytest.raises(RelocationRefused, match="new copy .* is inside the old copy"):
        check_apart(str(tmp_path / "new"), str(tmp_path / "new" / "inner"))
    (tmp_path / "apart").mkdir()
    check_apart(str(tmp_path / "apart"), str(tmp_path / "new"))
