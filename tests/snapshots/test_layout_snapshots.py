"""SVG snapshots of the Layout panel. Plain ``def``: snap_compare runs its own loop."""

from __future__ import annotations

import pytest

from tests.appkit import demo_app, settle

pytestmark = pytest.mark.xdist_group("snapshots")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_layout_panel(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    assert snap_compare(demo_app(snapshot_sandbox), terminal_size=size, run_before=settle)
