"""Server discovery on real temp trees: every path and the reason it was chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import new_config, render_config, with_changes
from omero_tui.core.discovery import discover, find_server_dir


def make_server(root: Path, props: dict[str, str] | None = None, **profiles: dict) -> Path:
    server = root / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    doc = new_config()
    if props:
        doc = with_changes(doc, "default", props)
    for name, values in profiles.items():
        doc = with_changes(doc, name, values)
    (server / "etc" / "grid" / "config.xml").write_bytes(render_config(doc))
    return server


def test_server_dir_precedence(tmp_path: Path) -> None:
    arg, env_dir, settings_dir = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    env = {"OMERODIR": str(env_dir)}
    assert find_server_dir(str(arg), env, str(settings_dir)).how == "from --server-dir"
    found = find_server_dir(None, env, str(settings_dir))
    assert (found.value, found.how) == (str(env_dir), "from OMERODIR")
    found = find_server_dir(None, {}, str(settings_dir), "/etc/s.toml")
    assert found.value == str(settings_dir) and "settings file /etc/s.toml" in found.how


def test_common_install_location_needs_etc_grid(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    server = make_server(tmp_path)
    found = find_server_dir(None, {}, None, candidates=[str(plain), str(server)])
    assert found.value == str(server) and "common install location" in found.how
    missing = find_server_dir(None, {}, None, candidates=[str(plain)])
    assert missing.value is None and "--server-dir" in missing.how


def test_data_dir_from_active_profile_and_managed_default(tmp_path: Path) -> None:
    server = make_server(tmp_path, {"omero.data.dir": "/srv/omero-data"})
    loc = discover(server_dir_arg=str(server), env={}, candidates=[])
    assert loc.profile.value == "default"
    assert loc.data_dir.value == "/srv/omero-data"
    assert loc.data_dir.how == "omero.data.dir in config.xml"
    assert loc.managed_dir.value == "/srv/omero-data/ManagedRepository"
    assert "omero.managed.dir not set" in loc.managed_dir.how
    assert loc.config_error is None


def test_omero_config_names_another_profile_the_server_ignores(tmp_path: Path) -> None:
    """The server reads __ACTIVE__ only: OMERO_CONFIG=staging is said loudly, not judged."""
    server = make_server(
        tmp_path, {"omero.data.dir": "/OMERO"}, staging={"omero.data.dir": "/staging/OMERO"}
    )
    loc = discover(server_dir_arg=str(server), env={"OMERO_CONFIG": "staging"}, candidates=[])
    assert loc.profile.value == "default" and "stored in config.xml" in loc.profile.how
    assert loc.data_dir.value == "/OMERO"
    (note,) = [n for n in loc.notes if n.code == "layout.omero_config_ignored"]
    assert note.severity.label == "warning"
    assert "'staging'" in note.message and "/staging/OMERO" in note.message
    assert "--profile staging" in note.message


def test_profile_option_judges_the_other_profile_and_says_so(tmp_path: Path) -> None:
    server = make_server(
        tmp_path, {"omero.data.dir": "/OMERO"}, staging={"omero.data.dir": "/staging/OMERO"}
    )
    loc = discover(server_dir_arg=str(server), env={}, candidates=[], profile_arg="staging")
    assert loc.profile.value == "staging" and loc.data_dir.value == "/staging/OMERO"
    assert [n.code for n in loc.notes] == ["layout.profile_not_active"]
    same = discover(server_dir_arg=str(server), env={}, candidates=[], profile_arg="default")
    assert same.data_dir.value == "/OMERO" and not same.notes
    wrong = discover(server_dir_arg=str(server), env={}, candidates=[], profile_arg="nope")
    assert "layout.profile_unknown" in [n.code for n in wrong.notes]


def test_active_block_is_what_the_server_reads(tmp_path: Path) -> None:
    """A hand-edited file whose __ACTIVE__ disagrees with its profile: __ACTIVE__ wins."""
    server = make_server(tmp_path, {"omero.data.dir": "/OMERO"})
    path = server / "etc" / "grid" / "config.xml"
    text = path.read_text().replace('value="/OMERO"', 'value="/active/OMERO"', 1)
    path.write_text(text)
    loc = discover(server_dir_arg=str(server), env={}, candidates=[])
    assert loc.data_dir.value == "/active/OMERO"


def test_windows_era_value_is_never_joined_with_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(
        tmp_path,
        {"omero.data.dir": "D:\\\\OMERO", "omero.managed.dir": "D:\\\\OMERO\\\\Managed"},
    )
    monkeypatch.chdir(tmp_path)
    loc = discover(server_dir_arg=str(server), env={}, candidates=[], platform="linux")
    assert loc.data_dir.value == "D:\\OMERO" and loc.on_windows_paths
    assert loc.managed_dir.value == "D:\\OMERO\\Managed"
    assert str(tmp_path) not in repr(loc.data_dir) + repr(loc.managed_dir)
    assert [n.code for n in loc.notes] == ["layout.windows_path"]


def test_references_resolved_and_follow_data_dir_override(tmp_path: Path) -> None:
    server = make_server(
        tmp_path,
        {
            "omero.data.dir": "/OMERO",
            "omero.managed.dir": "${omero.data.dir}/ManagedRepository",
            "omero.pixeldata.memoizer.dir": "${omero.data.dir}/BioFormatsCache",
        },
    )
    loc = discover(server_dir_arg=str(server), env={}, candidates=[])
    assert loc.managed_dir.value == "/OMERO/ManagedRepository"
    assert loc.properties["omero.pixeldata.memoizer.dir"] == "/OMERO/BioFormatsCache"
    moved = discover(server_dir_arg=str(server), data_dir_arg="/mnt/x", env={}, candidates=[])
    assert moved.data_dir.how == "from --data-dir"
    assert moved.managed_dir.value == "/mnt/x/ManagedRepository"


def test_windows_escaped_value_is_unescaped(tmp_path: Path) -> None:
    server = make_server(tmp_path, {"omero.data.dir": "D:\\\\OMERO"})
    loc = discover(server_dir_arg=str(server), env={}, candidates=[], platform="win32")
    assert loc.data_dir.value == "D:\\OMERO"
    assert loc.managed_dir.value == "D:\\OMERO\\ManagedRepository"


def test_platform_default_without_server(tmp_path: Path) -> None:
    loc = discover(env={}, candidates=[])
    assert loc.server_dir.value is None
    assert loc.data_dir.value == "/OMERO" and "default" in loc.data_dir.how
    assert discover(env={}, candidates=[], platform="win32").data_dir.value == "C:\\OMERO"


def test_broken_config_is_reported_not_raised(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    (server / "etc" / "grid" / "config.xml").write_text("<icegrid><oops")
    loc = discover(server_dir_arg=str(server), env={}, candidates=[])
    assert loc.config_error and "\n" not in loc.config_error
    assert loc.data_dir.value == "/OMERO"
