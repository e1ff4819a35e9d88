"""Shared fixtures: the demo sandbox, built with the product's own builder."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from tests.core.relocation.helpers import mount_tmpfs, unmount

# Snapshots show paths, so the sandbox they photograph lives at one fixed place. Only
# tests in the "snapshots" xdist group use it, so one worker owns it at a time.
SNAPSHOT_ROOT = Path("/tmp/omero-tui-snapshot-demo")


@contextmanager
def fixed_path_held(path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` while a fixed path is in use: another test run on this
    machine (another checkout) would otherwise build and delete the same sandbox under
    this one's snapshots. The lock goes with the file's closing, even on a crash."""
    with open(f"{path}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted for this test: the "other filesystem" a copy crosses to."""
    where = tmp_path / "otherfs"
    mount_tmpfs(where)
    yield where
    unmount(where)


@pytest.fixture
def demo_sandbox(tmp_path: Path) -> DemoSandbox:
    """A fresh sandbox (no stand-in server running) for tests that change it."""
    return build_demo(tmp_path / "demo")


@pytest.fixture(scope="session")
def snapshot_sandbox() -> Iterator[DemoSandbox]:
    """A sandbox at a fixed path, for snapshots and screenshots; never changed."""
    # The console keeps the sandbox's caches beside it (tests.appkit.state_dir_of).
    state = SNAPSHOT_ROOT.parent / f"{SNAPSHOT_ROOT.name}-state"
    with fixed_path_held(SNAPSHOT_ROOT):
        for path in (SNAPSHOT_ROOT, state):
            shutil.rmtree(path, ignore_errors=True)
        sandbox = build_demo(SNAPSHOT_ROOT)
        yield sandbox
        for path in (SNAPSHOT_ROOT, state):
            shutil.rmtree(path, ignore_errors=True)
