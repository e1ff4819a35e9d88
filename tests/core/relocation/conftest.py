"""Fixtures for the relocation tests: a state dir of their own, a real tmpfs target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.relocation.helpers import mount_tmpfs, unmount


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """omero-tui's state dir (journals, the relocation lock) for this test only."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "omero-tui"


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted for this test: the "other filesystem" a copy crosses to."""
    where = tmp_path / "otherfs"
    mount_tmpfs(where)
    yield where
    unmount(where)


HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow here run only when asked for (``-m slow``)."""
    if config.getoption("markexpr", ""):
        return
    skip = pytest.mark.skip(reason="slow: run them with -m slow")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)
