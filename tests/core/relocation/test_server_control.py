"""Controllers from the settings, and "stopped" proven by status, processes and open files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.server.control import (
    ControlError,
    CustomController,
    ManualController,
    OmeroCliController,
    SystemdController,
    choose_controller,
    command_argv,
)
from omero_tui.core.server.state import files_open_under


def test_controllers_follow_the_settings(tmp_path: Path) -> None:
    server = tmp_path / "OMERO.server"
    (server / "bin").mkdir(parents=True)
    omero = server / "bin" / "omero"
    omero.write_text("#!/bin/sh\nexit 0\n")
    omero.chmod(0o755)
    cli = choose_controller(str(server), control="omero", env={})
    assert isinstance(cli, OmeroCliController) and cli.program == (str(omero),)
    assert cli.env["OMERODIR"] == str(server)
    unit = choose_controller(str(server), control="systemd", unit="omero-web", env={})
    assert isinstance(unit, SystemdController) and unit.unit == "omero-web"
    custom = choose_controller(
        str(server),
        control="custom",
        start_command="sudo /usr/local/bin/omero-ctl start 'my server'",
        stop_command=["/usr/local/bin/omero-ctl", "stop"],
        env={},
    )
    assert isinstance(custom, CustomController)
    assert custom.start_argv == ("sudo", "/usr/local/bin/omero-ctl", "start", "my server")
    assert isinstance(choose_controller(str(server), control="manual", env={}), ManualController)
    with pytest.raises(ControlError, match="one of"):
        choose_controller(str(server), control="init.d", env={})
    with pytest.raises(ControlError):
        command_argv(42, "start_command")


def test_any_process_with_a_file_open_or_mapped_under_the_source_blocks(tmp_path: Path) -> None:
    (tmp_path / "open.bin").write_bytes(b"x" * 4096)
    (tmp_path / "mapped.bin").write_bytes(b"y" * 4096)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import mmap, sys, time\n"
            "a = open(sys.argv[1], 'rb')\n"
            "f = open(sys.argv[2], 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
            "f.close(); print('ready', flush=True); time.sleep(30)",
            str(tmp_path / "open.bin"),
            str(tmp_path / "mapped.bin"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        found = {(f.pid, Path(f.path).name, f.how) for f in files_open_under([str(tmp_path)])}
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert (holder.pid, "open.bin", "open") in found
    assert (holder.pid, "mapped.bin", "mapped") in found
