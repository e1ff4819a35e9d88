"""``omero-tui layout``: the Layout panel's headless twin."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_layout(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", "layout", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_json_report_of_the_demo_is_healthy(demo_sandbox) -> None:  # noqa: ANN001
    result = run_layout("--json", "--server-dir", str(demo_sandbox.server_dir))
    report = json.loads(result.stdout)
    assert report["location"]["data_dir"]["value"] == str(demo_sandbox.data_dir)
    assert "config.xml" in report["location"]["data_dir"]["how"]
    names = [s["name"] for s in report["subdirs"]]
    assert names[:6] == [
        "Pixels",
        "Files",
        "Thumbnails",
        "FullText",
        "ManagedRepository",
        "BioFormatsCache",
    ]
    assert all(s["state"] == "present" for s in report["subdirs"])
    for finding in report["findings"]:
        assert set(finding) == {"area", "severity", "code", "message", "path"}
    assert result.returncode in (0,), result.stdout


def test_nested_data_dir_exits_critical(demo_sandbox) -> None:  # noqa: ANN001
    inside = demo_sandbox.server_dir / "var" / "OMERO"
    inside.mkdir(parents=True)
    result = run_layout("--server-dir", str(demo_sandbox.server_dir), "--data-dir", str(inside))
    assert result.returncode == 2
    assert "CRITICAL" in result.stdout


def test_console_without_a_terminal_points_to_the_headless_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "omero_tui"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "omero-tui layout --json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
