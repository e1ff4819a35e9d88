"""``omero-tui config get|set`` as an admin would run it: a real subprocess each time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from omero_tui import __version__
from omero_tui.core.config.xml_file import read_config


def omero_tui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    full_env = {**base, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def server(tmp_path: Path) -> Path:
    server = tmp_path / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    return server


def config_of(server: Path) -> Path:
    return server / "etc" / "grid" / "config.xml"


def test_set_get_delete_roundtrip(server: Path) -> None:
    sd = ["--server-dir", str(server)]
    assert omero_tui("config", "set", "omero.data.dir", "/srv/omero-data", *sd).returncode == 0
    assert omero_tui("config", "set", "omero.db.name", "omero", *sd).returncode == 0
    out = omero_tui("config", "get", *sd)
    assert out.stdout.splitlines() == ["omero.data.dir=/srv/omero-data", "omero.db.name=omero"]
    assert omero_tui("config", "get", "omero.data.dir", *sd).stdout == "/srv/omero-data\n"
    assert omero_tui("config", "set", "omero.db.name", *sd).returncode == 0
    assert omero_tui("config", "get", *sd).stdout == "omero.data.dir=/srv/omero-data\n"
    doc = read_config(config_of(server))
    assert doc.properties("default")["omero.data.dir"] == "/srv/omero-data"
    backups = list(config_of(server).parent.glob("config.xml.bak*"))
    assert backups, "every write keeps a backup of the previous file"


def test_omerodir_and_options_after_subcommand(server: Path) -> None:
    env = {"OMERODIR": str(server)}
    assert omero_tui("config", "set", "omero.data.dir", "/OMERO", env=env).returncode == 0
    assert omero_tui("config", "get", "omero.data.dir", env=env).stdout == "/OMERO\n"


@pytest.mark.parametrize("key", ["omero data", "omero.data.dir=/x", "ключ", ""])
def test_bad_key_is_one_line_and_changes_nothing(server: Path, key: str) -> None:
    sd = ["--server-dir", str(server)]
    omero_tui("config", "set", "omero.data.dir", "/OMERO", *sd)
    before = config_of(server).read_bytes()
    result = omero_tui("config", "set", key, "x", *sd)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert config_of(server).read_bytes() == before


def test_malformed_config_is_refused_and_kept(server: Path) -> None:
    config_of(server).write_text("<icegrid><properties id='__ACTIVE__'>")
    result = omero_tui("config", "set", "omero.data.dir", "/x", "--server-dir", str(server))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert config_of(server).read_text() == "<icegrid><properties id='__ACTIVE__'>"


HOLDER = textwrap.dedent(
    """
    import sys, portalocker
    fh = open(sys.argv[1], "a+")
    portalocker.lock(fh, portalocker.LOCK_EX | portalocker.LOCK_NB)
    print("locked", flush=True)
    sys.stdin.readline()
    """
)


def test_held_lock_fails_after_window_naming_holder(server: Path) -> None:
    sd = ["--server-dir", str(server)]
    omero_tui("config", "set", "omero.data.dir", "/OMERO", *sd)
    before = config_of(server).read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(config_of(server)) + ".lock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = omero_tui(
            "config", "set", "omero.data.dir", "/elsewhere", "--lock-timeout", "1", *sd
        )
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert result.returncode == 1
    assert str(holder.pid) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert config_of(server).read_bytes() == before


def test_no_server_dir_is_a_clear_error(tmp_path: Path) -> None:
    result = omero_tui("config", "get", "--settings", str(tmp_path / "none.toml"))
    if "no OMERO.server dir" not in result.stderr:
        pytest.skip("this machine has an OMERO.server at a common install location")
    assert result.returncode == 1


def test_version() -> None:
    result = omero_tui("--version")
    assert result.stdout.strip() == f"omero-tui {__version__}"
