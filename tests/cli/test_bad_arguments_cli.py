"""A bad argument is UNKNOWN (exit 3) with one line on stderr that names it, as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.discovery import COMMON_SERVER_DIRS, looks_like_server_dir


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_unknown_command_is_unknown_and_named(tmp_path: Path) -> None:
    result = run("frobnicate", tmp_path=tmp_path)
    assert result.returncode == 3
    line = one_line(result)
    assert "unknown command 'frobnicate'" in line and "check" in line


def test_missing_server_dir_is_unknown_and_named(tmp_path: Path) -> None:
    result = run("check", "--server-dir", "/nonexistent", tmp_path=tmp_path)
    assert result.returncode == 3
    assert one_line(result) == "omero-tui: --server-dir /nonexistent: no such directory"


def test_a_dir_that_is_no_server_is_unknown_and_named(tmp_path: Path) -> None:
    result = run("layout", "--server-dir", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 3
    line = one_line(result)
    assert f"--server-dir {tmp_path}: not an OMERO.server dir" in line


def test_a_refusal_outside_monitoring_keeps_exit_1(tmp_path: Path) -> None:
    result = run("relocate", "--server-dir", "/nonexistent", "--to", "/x", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "--server-dir /nonexistent" in one_line(result)


@pytest.mark.skipif(
    any(looks_like_server_dir(d) for d in COMMON_SERVER_DIRS),
    reason="this machine has an OMERO.server at a common install location",
)
@pytest.mark.skipif(os.path.isdir("/OMERO"), reason="this machine has a repository at /OMERO")
def test_no_server_at_all_says_where_it_looked_and_what_to_give(tmp_path: Path) -> None:
    result = run("check", tmp_path=tmp_path)
    assert result.returncode == 3
    line = one_line(result)
    assert "no OMERO.server found" in line and COMMON_SERVER_DIRS[0] in line
    assert "no running server or omero-server.service unit" in line  # asked as well
    for way in ("--server-dir", "--data-dir", "--demo"):
        assert way in line
    assert "CRITICAL" not in line
