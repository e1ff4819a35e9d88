"""OMERO_CONFIG naming another profile than __ACTIVE__ (the only one the server reads):
said loudly, and the server's own data dir judged and relocated. The server is the demo
sandbox's stand-in (Ice and Java cannot run here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from omero_tui.core.config.commands import apply_set
from omero_tui.core.config.xml_file import ACTIVE, read_config
from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid
from tests.core.relocation.helpers import cli

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")


def env_for(box: DemoSandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMERO_CONFIG"}
    env.update(
        OMERODIR=str(box.server_dir),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        OMERO_TUI_TESTONLY_START_SETTLE_S="0.2",
        **extra,
    )
    return env


def add_staging(box: DemoSandbox, tmp_path: Path) -> Path:
    staging = tmp_path / "staging-OMERO"
    config = box.server_dir / "etc" / "grid" / "config.xml"
    apply_set(config, "omero.data.dir", str(staging), {}, profile="staging")
    apply_set(config, "omero.db.pass", "s3cret", {}, profile="default")
    return staging


def test_omero_config_another_profile_is_said_and_active_is_judged(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    staging = add_staging(demo_sandbox, tmp_path)
    env = env_for(demo_sandbox, tmp_path, OMERO_CONFIG="staging")
    layout = cli("layout", env=env)
    assert f"Data dir     {demo_sandbox.data_dir}" in layout.stdout
    assert "WARNING: OMERO_CONFIG names profile 'staging'" in layout.stdout
    assert str(staging) in layout.stdout  # the ignored profile's path, named in the warning
    got = cli("config", "get", env=env)
    assert f"omero.data.dir={demo_sandbox.data_dir}" in got.stdout
    assert "omero.db.pass=********" in got.stdout and "s3cret" not in got.stdout
    assert "OMERO_CONFIG names profile 'staging'" in got.stderr
    shown = cli("config", "get", "--show-password", env=env)
    assert "omero.db.pass=s3cret" in shown.stdout
    assert cli("config", "get", "--hide-password", env=env).returncode == 0
    single = cli("config", "get", "omero.db.pass", env=env)
    assert single.stdout == "********\n"
    for command in (["layout", "--json"], ["check", "--json", "--cached"]):
        done = cli(*command, env=env)
        assert "s3cret" not in done.stdout, command
    other = cli("layout", "--profile", "staging", env=env)
    assert f"Data dir     {staging}" in other.stdout
    assert "server reads only __ACTIVE__" in " ".join(other.stdout.split())


def test_relocation_with_omero_config_moves_what_active_names(tmp_path: Path) -> None:
    with DemoSession(tmp_path / "demo") as session:
        box = session.sandbox
        staging = add_staging(box, tmp_path)
        env = env_for(box, tmp_path, OMERO_CONFIG="staging")
        target = box.data_dir.parent / "moved-OMERO"
        done = cli("relocate", "--to", str(target), "--yes", "--json", env=env)
        assert done.returncode == 0, done.stderr
        events = [json.loads(line) for line in done.stdout.splitlines()]
        assert any("OMERO_CONFIG names profile 'staging'" in e.get("message", "") for e in events)
        doc = read_config(box.server_dir / "etc" / "grid" / "config.xml")
        assert doc.properties(ACTIVE)["omero.data.dir"] == str(target)
        assert doc.properties("staging")["omero.data.dir"] == str(staging)
        assert running_pid(box.server_dir) is not None


def test_relocating_a_non_active_profile_never_leaves_active_on_the_old_path(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    config = demo_sandbox.server_dir / "etc" / "grid" / "config.xml"
    apply_set(config, "omero.data.dir", str(demo_sandbox.data_dir), {}, profile="staging")
    before = config.read_bytes()
    env = env_for(demo_sandbox, tmp_path)
    target = demo_sandbox.data_dir.parent / "moved-OMERO"
    done = cli("relocate", "--profile", "staging", "--to", str(target), "--yes", env=env)
    assert done.returncode == 1
    assert "would leave the server on the old path" in done.stderr
    assert config.read_bytes() == before and demo_sandbox.data_dir.is_dir()
