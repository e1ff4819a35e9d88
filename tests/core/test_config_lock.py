"""OMERO's config.xml.lock, held by a real other process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omero_tui.core.config.lock import _flock_owner, backup, describe_process, short_command
from omero_tui.core.config.xml_file import (
    ConfigLockedError,
    lock_holder,
    new_config,
    read_config,
    render_config,
    with_changes,
    write_config,
)

# Behaves like an OMERO CLI holding the lock: take it non-blocking, say so, wait to be
# told to let go, then close and delete the lock file as ConfigXml.close() does.
HOLDER = """
import os, sys, portalocker
handle = open(sys.argv[1], "a+")
portalocker.lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
print("ready", flush=True)
sys.stdin.readline()
handle.close()
os.remove(sys.argv[1])
print("released", flush=True)
"""

Holder = Callable[[Path], subprocess.Popen[str]]


@pytest.fixture
def hold_lock() -> Iterator[Holder]:
    children: list[subprocess.Popen[str]] = []

    def start(lock_path: Path) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        assert child.stdout is not None and child.stderr is not None
        if child.stdout.readline() != "ready\n":
            child.kill()
            pytest.fail(f"lock holder failed: {child.stderr.read()}")
        return child

    yield start
    for child in children:
        child.kill()
        child.communicate(timeout=5)


def release(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline() == "released\n"


def make_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.xml"
    path.write_bytes(render_config(with_changes(new_config(), "default", {"omero.a": "1"})))
    return path


def test_locked_by_other_process_times_out(tmp_path: Path, hold_lock: Holder) -> None:
    path = make_config(tmp_path)
    old, mtime = path.read_bytes(), path.stat().st_mtime_ns
    child = hold_lock(tmp_path / "config.xml.lock")
    holder = lock_holder(tmp_path / "config.xml.lock")
    assert holder is not None and holder.startswith(f"pid {child.pid} ")
    started = time.monotonic()
    with pytest.raises(ConfigLockedError) as info:
        write_config(path, {"omero.a": "2"}, env={}, lock_timeout=0.5)
    waited = time.monotonic() - started
    assert 0.5 <= waited < 3
    message = str(info.value)
    assert f"pid {child.pid}" in message and "config.xml.lock" in message
    assert "\n" not in message and info.value.holder == holder
    assert path.read_bytes() == old and path.stat().st_mtime_ns == mtime
    assert (tmp_path / "config.xml.lock").exists()  # the holder's file is not ours to delete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.xml", "config.xml.lock"]


def test_write_succeeds_when_holder_releases_in_time(tmp_path: Path, hold_lock: Holder) -> None:
    path = make_config(tmp_path)
    child = hold_lock(tmp_path / "config.xml.lock")
    timer = threading.Timer(0.3, release, [child])
    started = time.monotonic()
    timer.start()
    try:
        result = write_config(path, {"omero.a": "2"}, env={}, lock_timeout=5)
    finally:
        timer.join()
    assert time.monotonic() - started >= 0.3
    assert read_config(path).properties("default")["omero.a"] == "2"
    assert result.backup is not None
    assert not (tmp_path / "config.xml.lock").exists()  # deleted after the write, like OMERO


def test_our_lock_blocks_other_process(tmp_path: Path, hold_lock: Holder) -> None:
    # After our write the lock is free again and the file gone: a CLI can take it at once.
    path = make_config(tmp_path)
    write_config(path, {"omero.a": "3"}, env={})
    child = hold_lock(tmp_path / "config.xml.lock")
    release(child)


def test_lock_holder_unknown(tmp_path: Path) -> None:
    assert lock_holder(tmp_path / "missing.lock") is None
    free = tmp_path / "free.lock"
    free.write_text("")
    assert lock_holder(free) is None


def test_proc_locks_parsing() -> None:
    dev = os.makedev(0xFE, 0x01)
    text = (
        "1: POSIX  ADVISORY  WRITE 111 fe:01:42 0 EOF\n"
        "2: -> FLOCK  ADVISORY  WRITE 222 fe:01:77 0 EOF\n"
        "3: OFDLCK ADVISORY  WRITE -1 fe:01:88 0 EOF\n"
        "4: FLOCK  ADVISORY  WRITE 333 fe:01:77 0 EOF\n"
    )
    assert _flock_owner(text, dev, 77) == 333  # the holder, not the waiter
    assert _flock_owner(text, dev, 42) == 111
    assert _flock_owner(text, dev, 88) is None
    assert _flock_owner(text, os.makedev(8, 1), 77) is None


def test_describe_process() -> None:
    text = describe_process(os.getpid())
    assert text.startswith(f"pid {os.getpid()} ") and "(user " in text
    assert short_command(["/venv/bin/python3", "/venv/bin/omero", "admin", "start"]) == (
        "omero admin start"
    )
    assert short_command(["/usr/bin/python3", "-c", "x\ny"]) == "python3 -c x y"
    assert len(short_command(["omero", "x" * 200])) == 80


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text("<icegrid/>")
    old = [tmp_path / f"config.xml.bak-2020010{d}T000000Z" for d in range(1, 6)]
    for path in old:
        path.write_text("old")
    unrelated = tmp_path / "config.xml.bak-mine"
    unrelated.write_text("keep me")
    made = backup(config, keep=3)
    left = sorted(p.name for p in tmp_path.glob("config.xml.bak-*"))
    assert left == sorted([old[3].name, old[4].name, made.name, unrelated.name])
