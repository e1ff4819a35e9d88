"""A Windows-era config.xml (``D:\\\\OMERO``, Ice-escaped) read on Linux: every headless
command is run for real from a working directory whose name is looked for in every
output, so no path can have been joined with it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployments.kit import CWD_MARK, run_cli, world_readable_root

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")


SAMPLE = Path(__file__).parents[1] / "fixtures" / "config-samples" / "windows-escaped.xml"
COMMANDS = (
    ["layout"],
    ["layout", "--json"],
    ["usage"],
    ["usage", "--json"],
    ["locks"],
    ["locks", "--json"],
    ["locks", "--probe"],
    ["perms"],
    ["perms", "--json"],
    ["perms", "--fix"],
    ["perms", "--deep"],
    ["check"],
    ["check", "--json"],
    ["config", "get"],
    ["relocate", "--to", "/srv/new-OMERO", "--dry-run"],
    ["relocate", "--to", "/srv/new-OMERO", "--dry-run", "--json"],
    ["relocate", "--to", "/srv/new-OMERO", "--managed-only", "--dry-run"],
)


@pytest.fixture
def windows_server() -> Iterator[tuple[Path, Path]]:
    root = world_readable_root()
    server = root / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    text = SAMPLE.read_text().replace(
        '<property name="omero.managed.dir"',
        '<property name="omero.pixeldata.memoizer.dir" value="D:\\\\OMERO\\\\BioFormatsCache" />'
        '<property name="omero.managed.dir"',
    )
    (server / "etc" / "grid" / "config.xml").write_text(text)
    cwd = root / CWD_MARK
    cwd.mkdir()
    try:
        yield server, cwd
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_no_command_joins_a_windows_path_with_the_cwd(windows_server: tuple[Path, Path]) -> None:
    server, cwd = windows_server
    for command in COMMANDS:
        done = run_cli([*command, "--server-dir", str(server)], cwd=cwd)
        output = done.stdout + done.stderr
        assert CWD_MARK not in output, (command, output)
        assert "D:\\OMERO/" not in output, (command, output)  # a POSIX join of a Windows path
        assert "Traceback" not in output, (command, output)
        if command[0] != "config":  # `config get` only prints; every check must not pass
            assert done.returncode != 0, (command, output)
        assert not list(cwd.iterdir()) or all(p.name == ".home" for p in cwd.iterdir())


def test_windows_path_is_said_once_per_command_and_judged_nowhere(
    windows_server: tuple[Path, Path],
) -> None:
    server, cwd = windows_server
    layout = run_cli(["layout", "--server-dir", str(server)], cwd=cwd).stdout
    assert "D:\\OMERO is a Windows path" in layout and layout.count("is a Windows path") == 1
    assert "Pixels             Windows path    D:\\OMERO\\Pixels" in layout
    check = json.loads(run_cli(["check", "--json", "--server-dir", str(server)], cwd=cwd).stdout)
    severities = {a["area"]: a["severity"] for a in check["areas"]}
    assert severities["layout"] == "unknown" and "critical" not in severities.values()
    for area in ("usage", "locks", "permissions"):
        assert severities[area] == "unknown", area
    perms = json.loads(run_cli(["perms", "--json", "--server-dir", str(server)], cwd=cwd).stdout)
    assert perms["rows"] == []


def test_relocation_names_every_property_holding_the_old_location(
    windows_server: tuple[Path, Path],
) -> None:
    server, cwd = windows_server
    done = run_cli(["relocate", "--to", "/srv/x", "--yes", "--server-dir", str(server)], cwd=cwd)
    assert done.returncode == 1
    for key in ("omero.data.dir", "omero.managed.dir", "omero.pixeldata.memoizer.dir"):
        assert key in done.stderr, key
    assert "D:\\OMERO\\BioFormatsCache" in done.stderr
    assert "config set omero.data.dir E:\\\\OMERO" in done.stderr


def test_windows_paths_given_on_the_command_line_are_never_joined_with_the_cwd(
    windows_server: tuple[Path, Path],
) -> None:
    """``--data-dir D:\\OMERO``, ``OMERODIR=C:\\OMERO.server``, and a config.xml naming
    only omero.data.dir (the managed dir is then OMERO's default below it)."""
    server, cwd = windows_server
    config = server / "etc" / "grid" / "config.xml"
    drop = r'<property name="omero\.(managed\.dir|pixeldata\.memoizer\.dir)" value="[^"]*" />'
    config.write_text(re.sub(drop, "", config.read_text()))
    assert "omero.managed.dir" not in config.read_text()
    runs = [
        (["layout", "--server-dir", str(server)], None),
        (["layout", "--json", "--server-dir", str(server)], None),
        *(([*c, "--data-dir", "D:\\OMERO"], None) for c in COMMANDS if c[0] != "config"),
        (["layout"], {"OMERODIR": "C:\\OMERO.server"}),
    ]
    for command, env in runs:
        done = run_cli(command, cwd=cwd, env=env)
        output = done.stdout + done.stderr
        assert CWD_MARK not in output, (command, output)
        assert "OMERO/" not in output.replace(str(server), ""), (command, output)
        assert "Traceback" not in output, (command, output)
    layout = run_cli(["layout", "--data-dir", "D:\\OMERO"], cwd=cwd).stdout
    assert "D:\\OMERO\\ManagedRepository" in layout and "given with --data-dir" in layout
    server_named = run_cli(["layout"], cwd=cwd, env={"OMERODIR": "C:\\OMERO.server"})
    assert "OMERODIR C:\\OMERO.server is a Windows path" in server_named.stderr
