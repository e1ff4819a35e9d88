"""Fixtures the wizard's pilot tests share: a running demo (the second filesystem,
``other_fs``, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DemoSession]:
    with DemoSession(root=tmp_path / "demo") as running:
        assert running.start_error is None, running.start_error
        yield running
