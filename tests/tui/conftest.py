"""Fixtures the wizard's pilot tests share: a running demo and a second filesystem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from tests.core.relocation.helpers import mount_tmpfs, unmount


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DemoSession]:
    with DemoSession(root=tmp_path / "demo") as running:
        assert running.start_error is None, running.start_error
        yield running


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "otherfs"
    mount_tmpfs(where)
    yield where
    unmount(where)
