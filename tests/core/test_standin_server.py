"""The demo stand-in server, driven through the sandbox's own ``bin/omero`` as a console would.

Every test leaves no stand-in running: fixtures stop, then SIGKILL, whatever is left,
pass or fail. The tests share one sandbox and run in one xdist group, one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from omero_tui.core.config.commands import apply_set, format_get
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.demo.sandbox import FAULTS_FILE, DemoSandbox, build_demo
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import PID_FILE, running_pid, standin_pids

pytestmark = pytest.mark.xdist_group("demo-standin")


def omero(box: DemoSandbox, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OMERO_CONFIG"}
    env["OMERODIR"] = str(box.server_dir)
    return subprocess.run(
        [str(box.omero_bin), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def kill_standins(box: DemoSandbox) -> None:
    """The finalizers' hammer: whatever stand-in of this sandbox is alive dies."""
    for pid in standin_pids(box.server_dir):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert wait_for(lambda: not standin_pids(box.server_dir), 5), "a stand-in survived SIGKILL"


def wait_for(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def locks(box: DemoSandbox, data_dir: Path | None = None) -> list[Path]:
    data = data_dir or box.data_dir
    return sorted(
        [
            *data.glob(".omero/repository/*/.lock"),
            *data.glob("ManagedRepository/.omero/repository/*/.lock"),
        ]
    )


def held_elsewhere(path: Path) -> bool:
    """True when another process holds a POSIX record lock on path (what Java takes)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def set_faults(box: DemoSandbox, **faults: object) -> None:
    (box.server_dir / FAULTS_FILE).write_text(json.dumps(faults))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSandbox]:
    box = build_demo(tmp_path_factory.mktemp("standin") / "demo")
    yield box
    kill_standins(box)


@pytest.fixture
def box(shared: DemoSandbox) -> Iterator[DemoSandbox]:
    """The shared sandbox, stopped and put back as built after each test, pass or fail."""
    config = shared.config_path.read_bytes()
    yield shared
    kill_standins(shared)
    (shared.server_dir / FAULTS_FILE).unlink(missing_ok=True)
    shared.config_path.write_bytes(config)
    (shared.server_dir / PID_FILE).unlink(missing_ok=True)
    for path in locks(shared):
        path.unlink()


def test_start_status_stop_cycle(box: DemoSandbox) -> None:
    assert omero(box, "admin", "status").returncode == 1
    started = omero(box, "admin", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines() == [
        "Waiting on startup. Use CTRL-C to exit",
        "OMERO.server started",
    ]
    pid = int((box.server_dir / PID_FILE).read_text())
    proc = psutil.Process(pid)
    assert str(box.server_dir) in proc.cmdline() and standin_pids(box.server_dir) == [pid]
    held = locks(box)
    assert len(held) == 2 and all(held_elsewhere(p) for p in held)
    assert held_elsewhere(box.data_dir / "FullText" / "write.lock")
    open_files = {f.path for f in proc.open_files()}
    assert {str(p) for p in held} <= open_files
    assert any(p.startswith(str(box.data_dir / "Pixels")) for p in open_files)
    if Path("/proc/locks").exists():
        inode = held[0].stat().st_ino
        assert any(
            " POSIX " in line and f" {pid} " in line and line.split()[5].endswith(f":{inode}")
            for line in Path("/proc/locks").read_text().splitlines()
        )
    assert not (box.config_path.parent / "config.xml.lock").exists(), "released after start"
    status = omero(box, "admin", "status")
    assert (status.returncode, status.stdout) == (0, "OMERO.server running\n")
    again = omero(box, "admin", "start")
    assert again.returncode == 1 and "Server already running" in again.stderr

    stopped = omero(box, "admin", "stop")
    assert stopped.returncode == 0 and stopped.stdout.endswith("OMERO.server stopped\n")
    assert not standin_pids(box.server_dir)
    assert not (box.server_dir / PID_FILE).exists() and not locks(box)
    assert "shutdown" in (box.server_dir / "var/log/Blitz-0.log").read_text().splitlines()[-1]
    not_running = omero(box, "admin", "stop")
    assert not_running.returncode == 0 and "Server not running" in not_running.stderr


def test_stale_pid_file_is_not_running(box: DemoSandbox) -> None:
    (box.server_dir / PID_FILE).write_text(f"{os.getpid()}\n")  # alive, but not our server
    assert running_pid(box.server_dir) is None
    status = omero(box, "admin", "status")
    assert (status.returncode, status.stdout) == (1, "Server not running\n")


def test_data_directory_moved(box: DemoSandbox) -> None:
    old, new = box.data_dir, box.second_volume / "OMERO"
    old.rename(new)
    try:
        assert omero(box, "config", "set", "omero.data.dir", str(new)).returncode == 0
        started = omero(box, "admin", "start")
        assert started.returncode == 0, started.stderr
        assert len(locks(box, new)) == 2, "the identities moved along: the same repository"
        assert omero(box, "admin", "stop").returncode == 0
    finally:
        kill_standins(box)
        new.rename(old)
    log = (box.server_dir / "var/log/Blitz-0.log").read_text().splitlines()
    moved = [line for line in log if "Data directory moved" in line]
    assert len(moved) == 1 and " WARN  [" in moved[0]
    assert moved[0].endswith(f"Data directory moved: {old} updated to {new}")
    assert not any("registered a new one" in line for line in log)


def test_fault_refuse_stop(box: DemoSandbox) -> None:
    set_faults(box, refuse_stop=True)
    assert omero(box, "admin", "start").returncode == 0
    refused = omero(box, "admin", "stop")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert omero(box, "admin", "status").returncode == 0, "still running"
    set_faults(box)
    assert omero(box, "admin", "stop").returncode == 0
    assert not standin_pids(box.server_dir)


def test_fault_die_on_start(box: DemoSandbox) -> None:
    set_faults(box, die_on_start=True)
    assert omero(box, "admin", "start").returncode == 0
    assert wait_for(lambda: running_pid(box.server_dir) is None, 5)
    assert omero(box, "admin", "status").returncode == 1
    assert (box.server_dir / PID_FILE).exists(), "a crash leaves its pid file"
    stale = locks(box)
    assert len(stale) == 2 and not any(held_elsewhere(p) for p in stale)
    set_faults(box)
    restarted = omero(box, "admin", "start")
    assert restarted.returncode == 0 and "WARNING: lock files in" in restarted.stderr
    assert omero(box, "admin", "stop").returncode == 0 and not locks(box)


def test_fault_slow_start_holds_config_lock(box: DemoSandbox) -> None:
    set_faults(box, slow_start_s=1.0)
    lock = box.config_path.with_name("config.xml.lock")
    began = time.monotonic()
    env = {**os.environ, "OMERODIR": str(box.server_dir)}
    with subprocess.Popen(
        [str(box.omero_bin), "admin", "start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    ) as start:
        try:
            assert wait_for(lock.exists, 5), "admin start takes config.xml.lock"
            refused = omero(box, "config", "set", "omero.db.name", "other")
            out, _ = start.communicate(timeout=20)
        finally:
            if start.poll() is None:
                start.kill()
    assert start.returncode == 0 and "OMERO.server started" in out
    assert time.monotonic() - began >= 1.0
    assert refused.returncode == 1 and "config.xml.lock" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert omero(box, "config", "get", "omero.db.name").stdout == "omero\n"
    assert not lock.exists()


def test_start_refusals(box: DemoSandbox, tmp_path: Path) -> None:
    missing = box.root / "not-there"
    assert omero(box, "config", "set", "omero.data.dir", str(missing)).returncode == 0
    result = omero(box, "admin", "start")
    assert result.returncode == 1
    assert result.stderr.strip() == f"FATAL: OMERO directory does not exist: {missing}"
    assert omero(box, "config", "set", "omero.data.dir", str(tmp_path)).returncode == 0
    result = omero(box, "admin", "start")
    assert result.returncode == 1 and "outside the demo sandbox" in result.stderr
    assert not standin_pids(box.server_dir) and not list(tmp_path.iterdir())


def test_config_formatting_core(tmp_path: Path) -> None:
    """format_get/apply_set, shared by `omero-tui config` and the stand-in: OMERO's output."""
    path = tmp_path / "config.xml"
    apply_set(path, "omero.data.dir", "/OMERO", {})
    apply_set(path, "omero.db.pass", "s3cret", {})
    apply_set(path, "omero.db.name", "omero", {})
    doc = read_config(path)
    profile = doc.profile_for({})
    assert format_get(doc, profile, []) == [
        "omero.data.dir=/OMERO",
        "omero.db.name=omero",
        "omero.db.pass=s3cret",
    ]
    assert format_get(doc, profile, [], hide_password=True)[-1] == "omero.db.pass=********"
    assert format_get(doc, profile, ["omero.db.pass"], hide_password=True) == ["s3cret"]
    assert format_get(doc, profile, ["omero.config.version"]) == ["5.1.0"]
    assert format_get(doc, profile, ["omero.nothing"]) == []
    assert format_get(doc, profile, ["omero.db.name", "omero.nothing", "omero.data.dir"]) == [
        "omero.data.dir=/OMERO",
        "omero.db.name=omero",
    ]
    apply_set(path, "omero.db.pass", None, {})  # no value: delete
    assert "omero.db.pass" not in read_config(path).properties(profile)
    for bad in ("omero data", "omero.data.dir=/x", ""):
        with pytest.raises(ConfigError) as err:
            apply_set(path, bad, "x", {})
        assert "\n" not in str(err.value)
    assert "did you mean" in str(pytest.raises(ConfigError, apply_set, path, "a=b", None, {}).value)


def test_config_get_set_through_bin_omero(box: DemoSandbox) -> None:
    data = str(box.data_dir)
    assert omero(box, "config", "get").stdout.splitlines() == [
        f"omero.data.dir={data}",
        "omero.db.host=localhost",
        "omero.db.name=omero",
        "omero.db.user=omero",
    ]
    assert omero(box, "config", "set", "omero.db.pass", "s3cret").returncode == 0
    two = omero(box, "config", "get", "omero.db.pass", "omero.data.dir")
    assert two.stdout == f"omero.data.dir={data}\nomero.db.pass=********\n"
    shown = omero(box, "config", "get", "--show-password", "omero.db.pass", "omero.data.dir")
    assert shown.stdout == f"omero.data.dir={data}\nomero.db.pass=s3cret\n"
    assert omero(box, "config", "get", "omero.db.pass").stdout == "s3cret\n"
    bad = omero(box, "config", "set", "omero.data.dir=/x")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    for argv in (["admin", "diagnostics"], []):
        result = omero(box, *argv)
        assert result.returncode == 2
        assert result.stderr.strip() == "omero-tui demo stand-in: unsupported command"


def test_demo_session_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    session = DemoSession()
    try:
        with session as s:
            box = s.sandbox
            assert s.start_error is None and box.root.name.startswith("omero-tui-demo-")
            assert running_pid(box.server_dir) is not None
            set_faults(box, refuse_stop=True)  # `admin stop` fails: SIGKILL must follow
        assert not standin_pids(box.server_dir)
        assert not box.root.exists()
    finally:
        if session._sandbox is not None:
            kill_standins(session.sandbox)


def test_session_keeps_a_given_root_and_server_dies_with_it(box: DemoSandbox) -> None:
    with DemoSession(root=box.root) as session:  # an existing sandbox is reused as is
        assert session.sandbox == box
        assert session.start_error is None and running_pid(box.server_dir) is not None
    assert (box.root / "README.txt").is_file() and not standin_pids(box.server_dir)
    assert omero(box, "admin", "start").returncode == 0
    (pid,) = standin_pids(box.server_dir)
    away = box.server_dir.with_name("OMERO.server-deleted")
    box.server_dir.rename(away)  # as good as deleted, for the server; cheaper than rmtree
    try:

        def gone() -> bool:
            try:
                return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        assert wait_for(gone, 5), "the stand-in outlived its sandbox"
        assert not box.server_dir.exists(), "it must not recreate what was deleted"
    finally:
        kill_standins(box)
        away.rename(box.server_dir)
