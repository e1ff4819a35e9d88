"""Finding a server dir's processes among real ones: roles from real command lines.

The processes are real (Python sleeping) with command lines shaped like IceGrid's and
the demo stand-in's; the real stand-in is found in the CLI and panel demo tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from omero_tui.core.server import processes
from omero_tui.core.server.processes import (
    DEMO_STANDIN_MODULE,
    find_server_processes,
    role_rank,
    server_environments,
)
from tests.core.conftest import SLEEP

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    server = tmp_path / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    (server / "var" / "master").mkdir(parents=True)
    return server


def wait_for_cmdline(proc: subprocess.Popen) -> None:
    # Until exec is done, /proc shows the parent's command line.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if SLEEP in psutil.Process(proc.pid).cmdline():
                return
        except psutil.Error:
            pass
        time.sleep(0.01)


def roles(server_dir: Path) -> dict[int, str]:
    return {p.pid: p.role for p in find_server_processes(server_dir)}


def test_icegrid_processes_of_this_server_are_found_with_their_roles(
    spawn, server_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    node = spawn(
        "icegridnode",
        f"--pidfile={server_dir}/var/master/master.pid",
        f"--Ice.Config={server_dir}/etc/internal.cfg,{server_dir}/etc/master.cfg",
    )
    blitz = spawn(
        "java",
        f"-Domero.logfile={server_dir}/var/log/Blitz-0.log",
        "ome.services.blitz.Entry",
        f"--Ice.Config={server_dir}/var/master/servers/Blitz-0/config/config",
    )
    indexer = spawn("java", "-Domero.name=Indexer-0", "-jar", "blitz.jar", cwd=server_dir)
    tables = spawn("python3", "lib/python/runTables.py", cwd=server_dir)
    # Mentions the server dir, plays no server role: an admin's `tail -f`.
    tail = spawn("tail", "-f", f"{server_dir}/var/log/Blitz-0.log")
    # A Blitz of another install.
    other = tmp_path / "other" / "OMERO.server"
    foreign = spawn("java", f"--Ice.Config={other}/var/master/servers/Blitz-0/config/config")
    for proc in (node, blitz, indexer, tables, tail, foreign):
        wait_for_cmdline(proc)

    found = roles(server_dir)
    assert found == {
        node.pid: "icegridnode",
        blitz.pid: "Blitz-0",
        indexer.pid: "Indexer-0",
        tables.pid: "Tables",
    }
    assert role_rank("Blitz-0") < role_rank("icegridnode") < role_rank("Tables")


def test_a_stale_master_pid_naming_an_unrelated_process_is_not_the_server(
    spawn, server_dir: Path
) -> None:  # noqa: ANN001
    unrelated = spawn("sshd")
    wait_for_cmdline(unrelated)
    (server_dir / "var" / "master" / "master.pid").write_text(f"{unrelated.pid}\n")
    assert unrelated.pid not in roles(server_dir)


def test_the_master_pid_process_counts_when_it_points_at_the_server(
    spawn, server_dir: Path
) -> None:  # noqa: ANN001
    master = spawn("launcher", cwd=server_dir)
    wait_for_cmdline(master)
    assert roles(server_dir) == {}  # no role without the pid file
    (server_dir / "var" / "master" / "master.pid").write_text(f"{master.pid}\n")
    assert roles(server_dir) == {master.pid: "master.pid"}


def test_the_demo_stand_in_is_found_through_a_symlinked_server_dir(
    spawn, server_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    # The stand-in's command line (the real one runs in the CLI and panel demo tests).
    standin = spawn("python3", DEMO_STANDIN_MODULE, "--server-dir", str(server_dir))
    other = spawn("python3", DEMO_STANDIN_MODULE, "--server-dir", str(tmp_path / "other"))
    for proc in (standin, other):
        wait_for_cmdline(proc)
    link = tmp_path / "server-link"
    link.symlink_to(server_dir)
    for where in (server_dir, link):
        found = find_server_processes(where)
        assert [(p.pid, p.role) for p in found] == [(standin.pid, "demo stand-in")]
        assert found[0].uid == os.geteuid()
        assert found[0].username is not None


def test_a_stopped_servers_environment_is_asked_without_psutil(
    server_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Layout asks it of every server dir: a stopped server's costs no psutil import."""
    # This host's processes as seen by a host where only this one runs: other tests'
    # stand-in servers (found by role, then read with psutil) must not count here.
    monkeypatch.setattr(processes, "proc_pids", lambda: [os.getpid()])
    monkeypatch.setitem(sys.modules, "psutil", None)  # importing it now fails
    assert server_environments(server_dir) == []


def test_a_running_servers_environment_is_read(spawn, server_dir: Path) -> None:  # noqa: ANN001
    node = spawn("icegridnode", f"--Ice.Config={server_dir}/etc/grid/default.xml")
    found = dict(server_environments(server_dir))
    assert found.keys() == {f"the environment of icegridnode (pid {node.pid})"}
    assert next(iter(found.values()))["PATH"] == os.environ["PATH"]
