"""Who the server user is, by the documented source order, with real processes and users."""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from omero_tui.core.discovery import discover
from omero_tui.core.perms.server_user import UnknownUserError, determine_server_user, lookup_user
from tests.core.test_access_ground_truth import Scratch, make, scratch_users

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


@pytest.fixture
def server_dir(scratch: Scratch, tmp_path: Path) -> Path:
    server = make(scratch.base / f"server-{tmp_path.name}", "root", "root", 0o755)
    make(server / "etc", "root", "root", 0o755)
    make(server / "etc" / "grid", "root", "root", 0o755)
    make(server / "var", "root", "root", 0o755)
    return server


def location(server: Path | None, *, demo: bool = False):  # noqa: ANN201
    return discover(
        server_dir_arg=str(server) if server else None,
        data_dir_arg="/nonexistent-otui",
        env={},
        candidates=[],
        demo=demo,
    )


@pytest.fixture
def node_as(server_dir: Path) -> Iterator:
    """Start an "icegridnode" (a sleep under that name) in the server dir as a user."""
    started: list[subprocess.Popen] = []
    sleep = shutil.which("sleep")
    assert sleep is not None
    link = server_dir.parent / f"bin-{server_dir.name}" / "icegridnode"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(sleep)

    def start(user: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            ["runuser", "-u", user, "--", str(link), "60"],
            cwd=server_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # runuser forks: wait for the child to exec
            kids = psutil.Process(proc.pid).children()
            if kids and kids[0].cmdline()[:1] == [str(link)]:
                break
            time.sleep(0.01)
        return proc

    yield start
    for proc in started:
        for kid in psutil.Process(proc.pid).children(recursive=True):
            kid.kill()
        proc.kill()
        proc.wait(timeout=10)


def test_settings_user_wins_over_processes_and_var(scratch: Scratch, server_dir: Path) -> None:
    shutil.chown(server_dir / "var", scratch.other)
    decision = determine_server_user(
        location(server_dir), settings_user=scratch.user, settings_path="/etc/x.toml"
    )
    assert (decision.user.name, decision.user.source) == (scratch.user, "settings")
    assert decision.user.how == "server.user in the settings file /etc/x.toml"
    assert grp.getgrnam(scratch.group).gr_gid in decision.user.groups


def test_the_demo_ignores_the_settings_user(scratch: Scratch, server_dir: Path) -> None:
    shutil.chown(server_dir / "var", scratch.other)
    decision = determine_server_user(location(server_dir, demo=True), settings_user=scratch.user)
    assert (decision.user.name, decision.user.source) == (scratch.other, "var owner")


def test_an_unknown_settings_user_warns_and_falls_back(scratch: Scratch, server_dir: Path) -> None:
    shutil.chown(server_dir / "var", scratch.other)
    decision = determine_server_user(location(server_dir), settings_user="otui-nobody-here")
    assert decision.user.source == "var owner"
    assert [f.code for f in decision.findings] == ["perms.settings_user_unknown"]


def test_running_processes_name_the_user_with_their_real_groups(
    scratch: Scratch, server_dir: Path, node_as
) -> None:  # noqa: ANN001
    shutil.chown(server_dir / "var", scratch.other)
    node_as(scratch.user)
    decision = determine_server_user(location(server_dir))
    assert (decision.user.name, decision.user.source) == (scratch.user, "processes")
    assert "icegridnode" in decision.user.how
    assert set(decision.user.groups) == set(os.getgrouplist(scratch.user, decision.user.gid))
    assert [p.role for p in decision.processes] == ["icegridnode"]


def test_processes_under_two_users_are_flagged(scratch: Scratch, server_dir: Path, node_as) -> None:  # noqa: ANN001
    node_as(scratch.user)
    node_as(scratch.other)
    decision = determine_server_user(location(server_dir))
    assert [f.code for f in decision.findings] == ["perms.processes_mixed_users"]


def test_without_server_dir_the_current_user_is_assumed() -> None:
    decision = determine_server_user(location(None))
    assert decision.user.source == "current user"
    assert decision.user.uid == os.getuid()


def test_an_admin_choice_beats_everything(scratch: Scratch, server_dir: Path) -> None:
    decision = determine_server_user(location(server_dir), chosen=scratch.other)
    assert (decision.user.name, decision.user.source) == (scratch.other, "chosen")
    with pytest.raises(UnknownUserError):
        lookup_user("otui-nobody-here")
    assert lookup_user(str(os.getuid())).uid == os.getuid()


def test_a_settings_user_other_than_the_running_one_is_flagged(
    scratch: Scratch, server_dir: Path, node_as
) -> None:  # noqa: ANN001
    node_as(scratch.other)
    decision = determine_server_user(location(server_dir), settings_user=scratch.user)
    assert decision.user.name == scratch.user  # the documented order stands...
    assert [f.code for f in decision.findings] == ["perms.settings_user_not_running"]
    assert scratch.other in decision.findings[0].message  # ...but the admin is told
    node_as(scratch.user)
    again = determine_server_user(location(server_dir), settings_user=scratch.other)
    assert [f.code for f in again.findings] == ["perms.settings_user_not_running"]
    assert determine_server_user(location(None), settings_user=scratch.user).findings == ()
