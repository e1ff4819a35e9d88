"""Fixtures for the relocation tests: a state dir of their own, a real tmpfs target."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """omero-tui's state dir (journals, the relocation lock) for this test only."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "omero-tui"


HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow here run only when asked for (``-m slow``)."""
    if config.getoption("markexpr", ""):
        return
    skip = pytest.mark.skip(reason="slow: run them with -m slow")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)
