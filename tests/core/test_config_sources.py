"""Configuration sources that win over config.xml: .omero files, CONFIG_* variables and
the systemd unit, read from real files in a temp root laid out like the Ansible role."""

from __future__ import annotations

from pathlib import Path

from omero_tui.core.config.next_start import apply_commands, reverted_keys
from omero_tui.core.config.omero_files import parse_omero_text, read_properties, template_tool
from omero_tui.core.config.sources import (
    find_config_sources,
    property_of_variable,
    scan_sources,
)
from omero_tui.core.config.systemd_unit import read_unit

TEMPLATE = """# Ansible managed

config drop default

config set omero.db.host localhost
config set omero.db.pass 'secret word'
config set omero.data.dir /OMERO

# Additional custom options
config set -- omero.fs.watchDir '/OMERO/Drop Box'
"""


def role_tree(root: Path, template: str = TEMPLATE) -> tuple[Path, Path]:
    """(server dir, unit file): the role's basedir with its versioned dir and symlink."""
    base = root / "opt" / "omero" / "server"
    versioned = base / "OMERO.server-5.6.14-ice36"
    (versioned / "etc" / "grid").mkdir(parents=True)
    (base / "OMERO.server").symlink_to(versioned.name)
    config = base / "config"
    config.mkdir()
    (config / "00-omero-server.omero").write_text(template)
    script = config / "omero-server-config-update.sh"
    script.write_text(
        f"#!/bin/sh\n# Ansible managed\nset -e\n"
        f"{base}/OMERO.server/bin/omero load --glob '{config}/*.omero'\n"
    )
    script.chmod(0o555)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (root / "etc" / "omero.env").write_text('# env\nOMERO_CONFIG="default"\n')
    unit = units / "omero-server.service"
    unit.write_text(
        "[Unit]\nDescription=OMERO.server\n\n[Service]\nUser=omero-server\nUMask=0002\n"
        f"Type=forking\nPIDFile={base}/OMERO.server/var/master/master.pid\n"
        f'Environment="OMERODIR={base}/OMERO.server" LANG=C.UTF-8\n'
        f"EnvironmentFile=-{root}/etc/omero.env\n"
        f"ExecStartPre={script}\nExecStart={base}/OMERO.server/bin/omero admin start\n"
    )
    return base / "OMERO.server", unit


def test_parses_commands_comments_and_shell_quoting() -> None:
    commands = parse_omero_text(
        TEMPLATE + "config load /etc/x.properties\nconfig set 'unbalanced\n"
    )
    sets = [(c.key, c.value) for c in commands if c.verb == "set"]
    assert ("omero.db.pass", "secret word") in sets
    assert ("omero.data.dir", "/OMERO") in sets
    assert ("omero.fs.watchDir", "/OMERO/Drop Box") in sets  # after "--"
    assert [c.names for c in commands if c.verb == "drop"] == [("default",)]
    assert [c.names for c in commands if c.verb == "load"] == [("/etc/x.properties",)]
    assert commands[-1].error and "cannot parse" in commands[-1].error
    assert template_tool(TEMPLATE) == (True, "Ansible")
    assert template_tool("config set omero.data.dir /x\n") == (False, None)


def test_drop_then_set_rebuilds_the_profile() -> None:
    commands = parse_omero_text(TEMPLATE + "config set omero.db.host\n")
    before = {"omero.data.dir": "/new", "omero.managed.dir": "/new/ManagedRepository"}
    after = apply_commands(before, commands, profile="default")
    assert after == {
        "omero.db.pass": "secret word",
        "omero.data.dir": "/OMERO",
        "omero.fs.watchDir": "/OMERO/Drop Box",
    }
    # Written to another profile (OMERO_CONFIG=staging): the active one only loses the drop.
    assert apply_commands(before, commands, profile="default", load_profile="staging") == {}


def test_docker_variable_names_map_as_the_image_maps_them() -> None:
    assert property_of_variable("CONFIG_omero_data_dir") == "omero.data.dir"
    assert property_of_variable("CONFIG_omero_db_host") == "omero.db.host"
    assert property_of_variable("CONFIG_omero_fs_watchDir") == "omero.fs.watchDir"
    assert property_of_variable("CONFIG_omero_web_public__enabled") == "omero.web.public_enabled"
    assert property_of_variable("CONFIG_omero_a_b") == "omero.a_b"  # the regex's own quirk
    assert property_of_variable("OMERO_CONFIG") is None
    assert property_of_variable("CONFIG_") is None


def test_properties_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.properties"
    path.write_text("# c\n\nomero.data.dir=/a\\\n/b\nomero.x=\n")
    assert read_properties(str(path)) == [(3, "omero.data.dir", "/a/b"), (5, "omero.x", "")]


def test_unit_gives_user_environment_and_what_it_loads(tmp_path: Path) -> None:
    server_dir, unit_path = role_tree(tmp_path)
    unit = read_unit(str(unit_path))
    assert unit is not None and unit.user == "omero-server"
    names = {n: v for n, v, _ in unit.environment}
    assert names["OMERODIR"] == str(server_dir) and names["OMERO_CONFIG"] == "default"
    assert unit.load_patterns == (f"{server_dir.parent}/config/*.omero",)


def test_finds_every_source_of_the_role(tmp_path: Path) -> None:
    server_dir, unit_path = role_tree(tmp_path)
    env = {"CONFIG_omero_data_dir": "/docker", "CONFIG_omero_db_pass": "x", "PATH": "/bin"}
    sources = find_config_sources(str(server_dir), env=env, unit_path=str(unit_path))
    omero_file = str(server_dir.parent / "config" / "00-omero-server.omero")
    by_key = {(s.kind, s.key): s for s in sources}
    data = by_key[("omero file", "omero.data.dir")]
    assert (data.where, data.line, data.value, data.is_template, data.tool) == (
        omero_file, 7, "/OMERO", True, "Ansible",
    )  # fmt: skip
    assert by_key[("omero file", "*")].text == "config drop default"
    assert by_key[("environment", "omero.data.dir")].where == "CONFIG_omero_data_dir"
    assert ("environment", "omero.db.pass") not in by_key  # only the relocation's keys
    assert by_key[("systemd unit", "OMERODIR")].value == str(server_dir)
    assert by_key[("systemd unit", "ExecStartPre")].where == str(unit_path)
    assert not any("secret" in str(s.value) for s in sources)


def test_without_a_unit_the_files_next_to_the_symlink_are_found(tmp_path: Path) -> None:
    server_dir, _ = role_tree(tmp_path)
    scan = scan_sources(str(server_dir), env={}, unit_path="")
    assert [Path(f.path).name for f in scan.files] == ["00-omero-server.omero"]
    assert scan.unit is None


def test_a_rewrite_the_next_start_undoes_names_the_line(tmp_path: Path) -> None:
    server_dir, unit_path = role_tree(tmp_path)
    scan = scan_sources(str(server_dir), env={}, unit_path=str(unit_path))
    written = {"omero.data.dir": "/new", "omero.fs.watchDir": "/new/Drop Box"}
    reverted = {r.key: r for r in reverted_keys(scan, written, "default")}
    # The defaults of the managed dir and the memoizer follow the data dir back.
    assert set(reverted) == {
        "omero.data.dir", "omero.managed.dir", "omero.pixeldata.memoizer.dir", "omero.fs.watchDir"
    }  # fmt: skip
    assert reverted["omero.data.dir"].restored == "/OMERO"
    assert reverted["omero.managed.dir"].restored == "/OMERO/ManagedRepository"
    assert reverted["omero.managed.dir"].source.line == 7  # type: ignore[union-attr]
    assert reverted["omero.fs.watchDir"].source.line == 10  # type: ignore[union-attr]
    # The file already names the new place: nothing is undone.
    role2 = tmp_path / "two"
    role2.mkdir()
    server2, unit2 = role_tree(role2, TEMPLATE.replace("/OMERO", "/new"))
    scan2 = scan_sources(str(server2), env={}, unit_path=str(unit2))
    assert reverted_keys(scan2, written, "default") == []
