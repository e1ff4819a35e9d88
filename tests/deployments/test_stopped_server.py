"""A stopped server that should run is a WARNING in `check` (and so on the Overview,
which shows the same health check): its systemd unit is enabled, or the relocation
journal says the relocation stopped it. The unit is a real file in a temp root (systemd
itself cannot run here); the relocation is the real engine on the demo's stand-in
server, SIGKILLed once it has stopped it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from tests.core.relocation.test_kill_resume import kill_when, sandbox_and_disk  # noqa: F401
from tests.deployments.kit import Install, run_cli

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")


UNIT = """[Unit]
Description=OMERO.server
[Service]
User=omero-server
Type=forking
PIDFile={server}/var/master/master.pid
ExecStart={server}/bin/omero admin start
ExecStop={server}/bin/omero admin stop
[Install]
WantedBy=multi-user.target
"""


def enable_unit(root: Path, server_dir: Path, name: str = "omero-server.service") -> None:
    system = root / "etc" / "systemd" / "system"
    (system / "multi-user.target.wants").mkdir(parents=True)
    (system / name).write_text(UNIT.format(server=server_dir))
    # What `systemctl enable` leaves: an absolute link, read inside the root.
    (system / "multi-user.target.wants" / name).symlink_to(f"/etc/systemd/system/{name}")


def server_area(install: Install, env: dict[str, str]) -> dict:
    done = run_cli(
        ["check", "--json", "--server-dir", str(install.server_dir)], cwd=install.cwd, env=env
    )
    return next(a for a in json.loads(done.stdout)["areas"] if a["area"] == "server")


def test_stopped_server_with_an_enabled_unit_file_is_a_warning(install: Install) -> None:
    env = {"OMERO_TUI_HOST_ROOT": str(install.root)}
    assert server_area(install, env)["severity"] in ("ok", "info")  # no unit: idle, as planned
    enable_unit(install.root, install.server_dir, name="omero.service")  # named by its path
    area = server_area(install, env)
    assert area["severity"] == "warning"
    assert "omero.service is enabled" in area["headline"]
    done = run_cli(["check", "--server-dir", str(install.server_dir)], cwd=install.cwd, env=env)
    assert done.returncode != 0 and "clean bill of health" not in done.stdout


def test_server_stopped_by_an_interrupted_relocation_names_it(
    sandbox_and_disk: tuple[DemoSession, Path, dict[str, str]],  # noqa: F811
) -> None:
    session, disk, env = sandbox_and_disk
    records = kill_when(
        session,
        disk / "OMERO",
        env,
        lambda r: any(x.get("step") == "copy" and x.get("state") == "started" for x in r),
        batch_files=10,
        pause_s=0.2,
    )
    relocation_id = next(r["id"] for r in records if r.get("id"))
    box = session.sandbox
    done = subprocess.run(
        [sys.executable, "-m", "omero_tui", "check", "--json", "--cached"],
        env={**env, "OMERODIR": str(box.server_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    areas = {a["area"]: a for a in json.loads(done.stdout)["areas"]}
    server = areas["server"]
    assert server["severity"] == "warning", server
    assert relocation_id in server["headline"] and "--resume" in server["headline"]
    assert done.returncode != 0
    assert os.path.isdir(box.data_dir)
