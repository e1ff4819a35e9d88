"""``omero-tui locks``: the Lock health panel's headless twin, on a running demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.demo.server_content import FAULTS_FILE
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid


def run_locks(*args: str, settings: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", "locks", "--settings", str(settings), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def session(tmp_path: Path):  # noqa: ANN201
    with DemoSession(tmp_path / "demo") as running:
        assert running.start_error is None, running.start_error
        yield running


def repository_locks(report: dict) -> list[dict]:
    return [f for f in report["lock_files"]["files"] if f["kind"] == "repository"]


def test_running_demo_holds_its_locks_then_a_crash_leaves_stale_ones_to_remove(
    session: DemoSession, tmp_path: Path
) -> None:
    box = session.sandbox
    server_dir = str(box.server_dir)
    settings = tmp_path / "settings.toml"

    # Running: the probe passes everywhere and the stand-in's .lock files are held.
    result = run_locks("--json", "--probe", "--server-dir", server_dir, settings=settings)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    held = repository_locks(report)
    assert len(held) == 2  # the data dir's and the managed dir's .omero/repository/*/.lock
    pid = running_pid(box.server_dir)
    for lock in held:
        assert lock["state"] == "held", lock
        assert [h["pid"] for h in lock["holders"]] == [pid]
        assert lock["holders"][0]["how"] == "POSIX lock (WRITE)"
    assert report["probed"] is True
    for row in report["directories"]:
        assert row["probe_verdict"] == "passed", row
        assert {k["kind"] for k in row["probe"]["kinds"]} == {"flock", "fcntl"}
    assert not [f for f in report["findings"] if f["severity"] in ("warning", "critical")]
    assert list(box.data_dir.rglob(".omero-tui-lockprobe-*")) == []  # the probe left nothing

    # A pyramid lock nobody holds while the server runs: stale, but not to be touched.
    pyramid = box.data_dir / "Pixels" / ".1_pyramid.pyr_lock"
    pyramid.write_bytes(b"")
    refused = run_locks("--remove-stale", "--server-dir", server_dir, settings=settings)
    assert refused.returncode == 1, refused.stdout
    assert "not removed: the server is not verified stopped" in refused.stderr
    assert pyramid.exists()

    # Stopped cleanly: no .lock is held any more (the stand-in removes its own).
    session.stop()
    after = json.loads(run_locks("--json", "--server-dir", server_dir, settings=settings).stdout)
    assert [f for f in repository_locks(after) if f["state"] == "held"] == []
    lucene = [f for f in after["lock_files"]["files"] if f["kind"] == "lucene"]
    assert [f["state"] for f in lucene] == ["stale"]

    # A crash after coming up, like a killed OMERO, leaves its .lock files: stale now.
    (box.server_dir / FAULTS_FILE).write_text(json.dumps({"die_on_start": True}))
    assert session.start()
    deadline = time.monotonic() + 10
    while running_pid(box.server_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    stale = json.loads(run_locks("--json", "--server-dir", server_dir, settings=settings).stdout)
    assert [f["state"] for f in repository_locks(stale)] == ["stale", "stale"]
    removed = run_locks("--remove-stale", "--server-dir", server_dir, settings=settings)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert removed.stderr.count("removed stale lock file") == 3  # two .lock, one .pyr_lock
    assert not pyramid.exists()
    assert list(box.data_dir.glob(".omero/repository/*/.lock")) == []
    assert list(box.managed_dir.glob(".omero/repository/*/.lock")) == []
    assert "Removed 3 stale lock files." in removed.stderr
    again = run_locks("--remove-stale", "--server-dir", server_dir, settings=settings)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stderr.strip() == (
        "Nothing to remove: no stale .lock or .pyr_lock file was found "
        "(Lucene's write.lock is harmless and left alone)."
    )


def test_text_output_shows_latencies_and_exit_codes(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    settings = tmp_path / "settings.toml"
    server_dir = str(demo_sandbox.server_dir)
    result = run_locks("--probe", "--server-dir", server_dir, settings=settings)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("Directory"))
    assert header.split() == ["Directory", "Filesystem", "Verdict", "flock", "fcntl", "write"]
    pixels = next(line for line in lines if line.startswith("Pixels"))
    assert pixels.count(" ms") == 3 and "FAIL" not in pixels
    assert "Locks OK: no problems found." in result.stdout
    # The stale, harmless Lucene write.lock is INFO: to monitoring that is OK (exit 0).
    assert "INFO: Lucene leaves write.lock behind" in result.stdout
    assert result.stdout.rstrip().endswith("Overall: OK")
    assert result.stderr == ""  # no terminal: no progress line

    # A repository .lock nobody holds: a warning, exit code 1.
    ident = next((demo_sandbox.data_dir / ".omero" / "repository").iterdir())
    (ident / ".lock").write_bytes(b"")
    stale = run_locks("--server-dir", server_dir, settings=settings)
    assert stale.returncode == 1, stale.stdout
    assert "WARNING: No process on this host holds this repository .lock file" in stale.stdout


def test_read_only_repository_exits_critical(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        print("skipped: mounting a read-only tmpfs needs root on Linux")
        pytest.skip("mounting a read-only tmpfs needs root on Linux")
    point = tmp_path / "OMERO"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        print(f"skipped: mount refused here: {mounted.stderr.strip()}")
        pytest.skip("mount refused")
    try:
        result = run_locks(
            "--json", "--probe", "--data-dir", str(point), settings=tmp_path / "s.toml"
        )
    finally:
        subprocess.run(["umount", str(point)], check=False)
    assert result.returncode == 2, result.stdout
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert {"locks.read_only_mount", "locks.write_failed"} <= codes
