"""The active lock probe: real processes, real flock/fcntl, a real tmpfs when root.

Broken filesystems cannot be had here, so a few tests give the probe child a lock
implementation that misbehaves; their names end in ``_simulated``.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from omero_tui.core.locks import probe as lock_probe
from omero_tui.core.locks.probe import (
    HANDOFF,
    KINDS,
    PROBE_PREFIX,
    REFUSED_EX,
    ProbeProgress,
    ProbeTimeouts,
)
from tests.mountkit import mount_tmpfs

# A probe child whose lock implementation is chosen by name; only the simulations use it.
SIMULATED_CHILD = """
import errno, fcntl, sys, time
from omero_tui.core.locks.probe_child import PosixLocker, serve

class AlwaysSucceeds:  # a filesystem that accepts every lock and enforces none
    def lock(self, fd, kind, mode): pass
    def unlock(self, fd, kind): pass

class NoLocksAvailable:  # NFS without a working lockd
    def lock(self, fd, kind, mode): raise OSError(errno.ENOLCK, "No locks available")
    def unlock(self, fd, kind): pass

class HangsOnLock:  # a lock call on a dead NFS server
    def lock(self, fd, kind, mode): time.sleep(120)
    def unlock(self, fd, kind): pass

class FlockOverPosix(PosixLocker):  # how Linux NFS implements flock
    def lock(self, fd, kind, mode): super().lock(fd, "fcntl", mode)
    def unlock(self, fd, kind): super().unlock(fd, "fcntl")

serve(sys.stdin, sys.stdout, globals()[sys.argv[1]]())
"""
FAST = ProbeTimeouts(start_s=10.0, step_s=1.0, handoff_s=0.5)


def simulated_child(locker: str) -> list[str]:
    return [sys.executable, "-c", SIMULATED_CHILD, locker]


def probe_children() -> list[psutil.Process]:
    """Our probe children still alive (zombies included: they were not reaped)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "lock_probe_child" in cmdline:
            found.append(child)
    return found


def probe_files(directory: Path) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(PROBE_PREFIX)]


def test_probe_on_a_temp_dir_is_healthy_with_latencies(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("data")
    before = sorted(os.listdir(tmp_path))
    (result,) = lock_probe.run([str(tmp_path)])
    assert result.passed, result
    assert [k.kind for k in result.kinds] == list(KINDS)
    for kind in result.kinds:
        assert kind.passed
        assert kind.lock_ms is not None and kind.lock_ms >= 0
        assert kind.handoff_ms is not None and 0 <= kind.handoff_ms < 1000
        refused = next(s for s in kind.steps if s.name == REFUSED_EX)
        assert "refused (E" in refused.detail
    assert result.write is not None and result.write.passed and result.write.ms is not None
    assert result.flock_emulated is False  # local Linux: flock and fcntl are independent
    assert sorted(os.listdir(tmp_path)) == before  # nothing added, nothing touched
    assert probe_children() == []


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    point = mount_tmpfs(tmp_path / "tmpfs", "size=1m", make=True)
    yield point
    subprocess.run(["umount", str(point)], check=False, capture_output=True)


def test_probe_on_a_real_tmpfs_is_healthy(tmpfs: Path) -> None:
    (result,) = lock_probe.run([str(tmpfs)])
    assert result.passed, result
    assert all(k.handoff_ms is not None for k in result.kinds)
    assert probe_files(tmpfs) == []


def test_probe_on_a_read_only_tmpfs_fails_to_write(tmp_path: Path) -> None:
    point = mount_tmpfs(tmp_path / "ro", "size=1m,ro", make=True)
    try:
        (result,) = lock_probe.run([str(point)])
    finally:
        subprocess.run(["umount", str(point)], check=False, capture_output=True)
    assert not result.passed
    assert result.write is not None and not result.write.passed
    assert result.write.errno == "EROFS"
    assert "EROFS" in (result.error or "")  # the lock probe file could not be created either


def test_broken_locking_simulated_is_red(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path)], child_command=simulated_child("AlwaysSucceeds"))
    assert not result.passed
    for kind in result.kinds:
        assert not kind.passed
        failure = kind.failure
        assert failure is not None and failure.name == REFUSED_EX
        assert "locks do not exclude" in failure.detail
        handoff = next(s for s in kind.steps if s.name == HANDOFF)
        assert not handoff.passed and "still held it" in handoff.detail  # never had to wait
    assert probe_files(tmp_path) == []


def test_no_locks_available_simulated_reports_the_errno(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path)], child_command=simulated_child("NoLocksAvailable"))
    assert not result.passed
    assert all(k.failure is not None and k.failure.errno == "ENOLCK" for k in result.kinds)
    assert "No locks available" in result.kinds[0].failure.detail  # type: ignore[union-attr]


def test_flock_emulated_over_posix_simulated(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path)], child_command=simulated_child("FlockOverPosix"))
    assert result.passed  # each kind excludes on its own
    assert result.flock_emulated is True


def test_hanging_lock_simulated_times_out_kills_the_child_and_cleans_up(tmp_path: Path) -> None:
    started = time.monotonic()
    (result,) = lock_probe.run(
        [str(tmp_path)], child_command=simulated_child("HangsOnLock"), timeouts=FAST
    )
    assert time.monotonic() - started < 8
    assert result.hung and not result.passed
    assert "did not answer" in (result.error or "") and "killed" in (result.error or "")
    flock = result.kind("flock")
    assert flock is not None and flock.failure is not None
    assert probe_children() == []  # killed and reaped
    assert probe_files(tmp_path) == []  # a fresh child removed the probe file
    assert result.leftover == ()


def test_cancel_stops_the_run_and_leaves_nothing(tmp_path: Path) -> None:
    dirs = []
    for index in range(5):
        (tmp_path / str(index)).mkdir()
        dirs.append(str(tmp_path / str(index)))
    cancel = threading.Event()
    seen: list[ProbeProgress] = []

    def progress(update: ProbeProgress) -> None:
        seen.append(update)
        if update.path == dirs[0]:
            cancel.set()

    results = lock_probe.run(dirs, progress, cancel)
    assert results[0].path == dirs[0]
    assert [r.cancelled for r in results[1:]] == [True] * 4
    assert seen[-1].step == "cancelled"
    assert probe_children() == []
    for directory in dirs:
        assert probe_files(Path(directory)) == []


def test_progress_is_throttled_to_about_ten_a_second(tmp_path: Path) -> None:
    dirs = []
    for index in range(25):
        (tmp_path / str(index)).mkdir()
        dirs.append(str(tmp_path / str(index)))
    seen: list[ProbeProgress] = []
    started = time.monotonic()
    results = lock_probe.run(dirs, seen.append)
    elapsed = time.monotonic() - started
    assert all(r.passed for r in results)
    assert len(seen) <= elapsed * 10 + 2
    assert seen[-1] == ProbeProgress(25, 25, "", "done")


def test_handoff_is_measured_from_the_release(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path)])
    for kind in result.kinds:
        handoff = next(s for s in kind.steps if s.name == HANDOFF)
        assert handoff.passed and "after release" in handoff.detail


def test_a_missing_directory_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path / "absent")])
    assert not result.passed
    assert "ENOENT" in (result.error or "")
    assert result.kinds == ()


def test_a_relative_directory_is_probed_where_the_console_means_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The children run in "/": without resolving it first they would probe "/sub".
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    (result,) = lock_probe.run(["sub"])
    assert result.passed, result
    assert result.path == "sub"
    assert probe_files(tmp_path / "sub") == []
    assert not os.path.exists("/sub")


def test_the_write_probe_never_removes_a_file_it_did_not_make(tmp_path: Path) -> None:
    from omero_tui.core.locks.probe_child import _write_probe

    name = f"{PROBE_PREFIX}collision-w"
    for existing in (name, f"{name}.tmp"):  # the final name, then the temporary one
        (tmp_path / existing).write_bytes(b"not the probe's")
        answer = _write_probe(str(tmp_path), name, time.perf_counter())
        assert not answer["ok"] and answer["errno"] == errno.EEXIST, answer
        assert (tmp_path / existing).read_bytes() == b"not the probe's"
        assert answer["left"] == []
        assert sorted(os.listdir(tmp_path)) == [existing]  # its own temp file is gone
        (tmp_path / existing).unlink()


GARBAGE_CHILD = "import sys; print('lock_probe_child garbage', flush=True); sys.stdin.read()"
SLOW_START_CHILD = "import sys, time; time.sleep(30); sys.argv = ['lock_probe_child']"


def test_a_child_that_speaks_no_json_is_an_error_not_a_pass_simulated(tmp_path: Path) -> None:
    (result,) = lock_probe.run([str(tmp_path)], child_command=[sys.executable, "-c", GARBAGE_CHILD])
    assert not result.passed and not result.hung
    assert "not JSON" in (result.error or "")
    assert probe_children() == []
    assert probe_files(tmp_path) == []


def test_a_slow_start_is_not_a_filesystem_hang_simulated(tmp_path: Path) -> None:
    timeouts = ProbeTimeouts(start_s=0.5, step_s=1.0, handoff_s=0.5)
    started = time.monotonic()
    (result,) = lock_probe.run(
        [str(tmp_path)], child_command=[sys.executable, "-c", SLOW_START_CHILD], timeouts=timeouts
    )
    assert time.monotonic() - started < 8
    assert not result.passed and not result.hung and result.kinds == ()
    assert "did not answer 'start'" in (result.error or "")
    assert probe_children() == []
    assert probe_files(tmp_path) == []
