"""A hand install (the OMERO docs' walk-through) seen from a root shell: no OMERODIR, no
`omero` on PATH, no settings. The running server's processes are stand-ins (Ice and Java
cannot run here) with icegridnode's and Blitz-0's argv, cwd and user."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from omero_tui.core.server.running import find_running_server, repository_holders
from tests.deployments.kit import (
    CWD_MARK,
    SERVER_UID,
    Install,
    blitz_args,
    icegridnode_args,
    run_cli,
    standin_process,
)

pytestmark = [
    pytest.mark.xdist_group("running-servers"),
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0,
        reason="runs the console as root and the stand-in server as another uid: needs root",
    ),
]


@pytest.fixture
def running(install: Install) -> Iterator[Install]:
    """icegridnode and Blitz-0 stand-ins, cwd the server dir, Blitz-0 holding the lock."""
    real = install.server_dir.resolve()
    with (
        standin_process("icegridnode", icegridnode_args(install.server_dir), cwd=real),
        standin_process(
            "java",
            blitz_args(install.server_dir),
            cwd=real,
            locks=[install.lock, install.managed_lock],
        ),
    ):
        yield install


def test_running_standin_server_names_server_dir_data_dir_and_user(running: Install) -> None:
    hint = find_running_server()
    assert hint is not None
    assert hint.server_dir == str(running.server_dir)
    assert hint.data_dir == str(running.data_dir)
    assert "Blitz-0" in hint.how and f"user uid {SERVER_UID}" in hint.how
    (holder,) = repository_holders(str(running.data_dir))
    assert holder.uid == SERVER_UID and not holder.other_namespace


def test_layout_as_root_with_no_options_finds_standin_server(running: Install) -> None:
    result = run_cli(["layout"], cwd=running.cwd)
    out = result.stdout
    assert f"Server dir   {running.server_dir}" in out
    assert "from the running Blitz-0" in out
    assert f"Data dir     {running.data_dir}" in out
    assert "CRITICAL" not in out and result.returncode in (0, 1), out + result.stderr
    assert CWD_MARK not in out + result.stderr
    data = json.loads(run_cli(["layout", "--json"], cwd=running.cwd).stdout)
    codes = [f["code"] for f in data["findings"]]
    assert "layout.found_from_processes" in codes


def test_check_as_root_with_no_options_judges_the_standin_servers_user(running: Install) -> None:
    result = run_cli(["check", "--json"], cwd=running.cwd, timeout=300)
    report = json.loads(result.stdout)
    critical = [f for a in report["areas"] for f in a["findings"] if f["severity"] == "critical"]
    assert not critical, critical
    perms = next(a for a in report["areas"] if a["area"] == "permissions")
    assert perms["severity"] in ("ok", "info"), perms


def test_data_dir_alone_judges_the_standin_lock_holders_uid(install: Install) -> None:
    """A Blitz-0 stand-in whose arguments and cwd name no server dir (as a server in
    another mount namespace looks): its lock names the user, not the console's root."""
    with standin_process("java", ["-Domero.name=Blitz-0"], cwd=install.root, locks=[install.lock]):
        result = run_cli(["perms", "--data-dir", str(install.data_dir)], cwd=install.cwd)
    head = result.stdout.split("Data dir")[0]
    assert f"uid {SERVER_UID}" in head and "holder of the repository's lock" in head, head
    assert "the user running this console" not in result.stdout


def test_data_dir_alone_with_nothing_running_judges_the_owner(install: Install) -> None:
    result = run_cli(["perms", "--data-dir", str(install.data_dir)], cwd=install.cwd)
    head = result.stdout.split("Data dir")[0]
    assert f"uid {SERVER_UID}" in head and f"owner of {install.data_dir}" in head, head
