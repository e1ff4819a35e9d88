"""Lock files: held or stale, found without ever taking the lock, with real holders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omero_tui.core.findings import Severity
from omero_tui.core.locks.files import (
    find_lock_files,
    inspect_lock_files,
    lock_file_findings,
    parse_proc_locks,
    removable,
    remove_stale,
)

# Recorded /proc/locks (a running OMERO host: Blitz and the Indexer hold POSIX locks,
# a Python server flock, one waiter, an OFD lock and a lease).
RECORDED_SAMPLE = """\
1: POSIX  ADVISORY  WRITE 2211 fd:01:1835101 0 EOF
2: FLOCK  ADVISORY  WRITE 2390 fd:01:1835190 0 EOF
2: -> FLOCK  ADVISORY  WRITE 2391 fd:01:1835190 0 EOF
3: OFDLCK ADVISORY  READ  -1 00:2e:44 0 0
4: LEASE  ACTIVE    READ  1703 08:11:1048577 0 EOF
not a lock line
"""

HOLDER = """
import fcntl, os, sys
kind, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
if kind == "posix":
    fcntl.lockf(fd, fcntl.LOCK_EX)
elif kind == "flock":
    fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()  # hold until the test closes our stdin
"""


def test_recorded_sample_proc_locks() -> None:
    locks = parse_proc_locks(RECORDED_SAMPLE)
    assert len(locks) == 5
    first = locks[0]
    assert (first.kind, first.mode, first.pid, first.device, first.inode) == (
        "POSIX",
        "WRITE",
        2211,
        (0xFD, 0x01),
        1835101,
    )
    waiter = locks[2]
    assert waiter.blocked and waiter.pid == 2391
    assert not locks[1].blocked
    assert locks[3].pid == -1 and locks[3].kind == "OFDLCK"
    assert locks[4].kind == "LEASE" and locks[4].device == (8, 17)


@pytest.fixture
def holder() -> Iterator[Callable[[str, Path], subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(kind: str, path: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, kind, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def repository(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "OMERO"
    lock_dir = data / ".omero" / "repository" / "db-uuid"
    lock_dir.mkdir(parents=True)
    (lock_dir / "repo_uuid").write_bytes(b"\x00\x04abcd")
    (data / "FullText").mkdir()
    (data / "Pixels" / "Dir-001").mkdir(parents=True)
    return data, lock_dir / ".lock"


def test_posix_lock_held_by_another_process_is_held(tmp_path: Path, holder) -> None:  # noqa: ANN001
    data, lock = repository(tmp_path)
    proc = holder("posix", lock)
    report = inspect_lock_files(str(data), str(data / "ManagedRepository"))
    (state,) = report.files
    assert (state.path, state.kind, state.state) == (str(lock), "repository", "held")
    assert [(h.pid, h.how) for h in state.holders] == [(proc.pid, "POSIX lock (WRITE)")]
    assert state.holders[0].process.startswith("python")
    assert report.method == "/proc/locks"
    # Looking never took the lock: the holder still has it, and we hold nothing on it
    # (this process may hold others: the snapshot sandboxes' lock files).
    inode = f":{lock.stat().st_ino} "
    on_it = [line for line in Path("/proc/locks").read_text().splitlines() if inode in line]
    assert [line for line in on_it if f" {proc.pid} " in line]
    assert not [line for line in on_it if f" {os.getpid()} " in line]


def test_flock_held_is_held_and_stale_file_is_stale(tmp_path: Path, holder) -> None:  # noqa: ANN001
    data, lock = repository(tmp_path)
    lucene = data / "FullText" / "write.lock"
    holder("flock", lucene)
    lock.write_bytes(b"")
    report = inspect_lock_files(str(data), str(data))
    states = {Path(s.path).name: s for s in report.files}
    assert states["write.lock"].state == "held"
    assert states["write.lock"].holders[0].how == "FLOCK lock (WRITE)"
    assert states[".lock"].state == "stale"
    assert "open files" in report.method  # the stale one was double-checked with psutil
    findings = lock_file_findings(report, lambda _p: False)
    assert [(f.code, f.severity) for f in findings] == [("locks.stale_repo_lock", Severity.WARNING)]


def test_open_without_a_lock_is_in_use_not_stale(tmp_path: Path, holder) -> None:  # noqa: ANN001
    data, lock = repository(tmp_path)
    proc = holder("open", lock)
    report = inspect_lock_files(str(data), str(data))
    (state,) = report.files
    assert state.state == "open"
    assert state.holders[0].pid == proc.pid
    (finding,) = lock_file_findings(report, lambda _p: False)
    assert finding.code == "locks.lock_file_open" and str(proc.pid) in finding.message


def test_without_proc_locks_psutil_still_sees_the_holder(tmp_path: Path, holder) -> None:  # noqa: ANN001
    data, lock = repository(tmp_path)
    proc = holder("posix", lock)
    report = inspect_lock_files(str(data), str(data), proc_locks=None)
    (state,) = report.files
    assert state.state == "open" and state.holders[0].pid == proc.pid


def test_stale_lock_on_a_share_says_another_host_may_hold_it(tmp_path: Path) -> None:
    data, lock = repository(tmp_path)
    lock.write_bytes(b"")
    report = inspect_lock_files(str(data), str(data))
    (finding,) = lock_file_findings(report, lambda _p: True)
    assert "another host" in finding.message


def test_pyramid_locks_are_found_within_the_budget(tmp_path: Path) -> None:
    data, _ = repository(tmp_path)
    pixels = data / "Pixels"
    (pixels / ".12_pyramid.pyr_lock").write_bytes(b"")
    deep = pixels / "Dir-001" / "Dir-234"
    deep.mkdir()
    (deep / ".1234567_pyramid.pyr_lock").write_bytes(b"")
    (deep / "1234567").write_bytes(b"px")
    found, complete = find_lock_files(str(data), str(data))
    assert complete
    assert [k for _, k in found] == ["pyramid", "pyramid"]
    assert {Path(p).name for p, _ in found} == {".12_pyramid.pyr_lock", ".1234567_pyramid.pyr_lock"}
    report = inspect_lock_files(str(data), str(data))
    codes = [f.code for f in lock_file_findings(report, lambda _p: False)]
    assert codes == ["locks.stale_pyramid_lock"]
    _, complete = find_lock_files(str(data), str(data), pyramid_budget=2)
    assert not complete
    small = inspect_lock_files(str(data), str(data), pyramid_budget=2)
    assert "locks.pyramid_search_incomplete" in [
        f.code for f in lock_file_findings(small, lambda _p: False)
    ]


def test_no_lock_files_no_findings(tmp_path: Path) -> None:
    data, _ = repository(tmp_path)
    report = inspect_lock_files(str(data), str(data))
    assert report.files == ()
    assert lock_file_findings(report, lambda _p: False) == []


def test_remove_stale_removes_only_stale_repository_and_pyramid_locks(
    tmp_path: Path,
    holder,  # noqa: ANN001
) -> None:
    data, stale_lock = repository(tmp_path)
    stale_lock.write_bytes(b"")
    held_dir = data / ".omero" / "repository" / "other-db"
    held_dir.mkdir()
    held = held_dir / ".lock"
    holder("posix", held)
    pyramid = data / "Pixels" / ".5_pyramid.pyr_lock"
    pyramid.write_bytes(b"")
    lucene = data / "FullText" / "write.lock"
    lucene.write_bytes(b"")
    report = inspect_lock_files(str(data), str(data))
    assert [f.path for f in removable(report.files)] == [str(stale_lock), str(pyramid)]
    result = remove_stale(report.files)
    assert result.removed == (str(stale_lock), str(pyramid))
    assert result.kept == () and result.refused is None
    assert held.exists() and lucene.exists()  # held, and Lucene's own
    assert not stale_lock.exists() and not pyramid.exists()


def test_remove_stale_keeps_a_file_that_is_in_use_or_changed_by_now(
    tmp_path: Path,
    holder,  # noqa: ANN001
) -> None:
    data, lock = repository(tmp_path)
    lock.write_bytes(b"")
    pyramid = data / "Pixels" / ".5_pyramid.pyr_lock"
    pyramid.write_bytes(b"")
    report = inspect_lock_files(str(data), str(data))
    proc = holder("posix", lock)  # a server came up after the report was taken
    os.utime(pyramid, (1, 1))
    result = remove_stale(report.files)
    assert result.removed == ()
    kept = dict(result.kept)
    assert f"Process {proc.pid}" in kept[str(lock)]
    assert "changed" in kept[str(pyramid)]
    assert lock.exists() and pyramid.exists()
