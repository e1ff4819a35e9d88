"""SVG snapshots of the Permissions panel. Plain ``def``: snap_compare runs its own loop.

Owners and the server user depend on who runs the tests, so the report is frozen:
the sandbox's entries show as root's (as they are when recorded, as root), the green
snapshot is judged for root as the owner of ``var``, the red one for ``nobody`` with
its group named ``nogroup`` and a console allowed to apply.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.perms.check import PermsReport, inspect_permissions
from omero_tui.core.perms.fix import FixPlan, plan_fix
from omero_tui.core.perms.source import PermsSource
from omero_tui.core.record import frozen, replace
from omero_tui.tui.sources import ConsoleSources
from tests.tui.test_perms_panel import PermsApp, pick_user, settle

pytestmark = pytest.mark.xdist_group("snapshots")

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])


def freeze_owners(report: PermsReport) -> PermsReport:
    me = os.getuid()
    rows = tuple(replace(r, owner="root", group="root") if r.uid == me else r for r in report.rows)
    return replace(report, rows=rows)


def frozen_inspect(location: ServerLocation, **kwargs: object) -> PermsReport:
    if kwargs.get("user"):  # picked in the test: nobody, with its Debian group name
        report = freeze_owners(inspect_permissions(location, **kwargs))  # type: ignore[arg-type]
        user = replace(report.user, group_names=("nogroup",))
        return replace(report, user=user)
    report = freeze_owners(inspect_permissions(location, **{**kwargs, "user": "root"}))  # type: ignore[arg-type]
    var = Path(location.server_dir.value or "") / "var"
    how = f"owner of {var}, as no server process is running"
    user = replace(report.user, source="var owner", how=how)
    return replace(report, user=user)


@frozen
class FrozenPerms(PermsSource):
    def plan(self, report: PermsReport) -> FixPlan:
        return plan_fix(report, euid=0)  # as the root console the snapshots are recorded by


def snapshot_app(sandbox: DemoSandbox) -> PermsApp:
    def locate() -> ServerLocation:
        return discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[], demo=True)

    perms = FrozenPerms(inspect=frozen_inspect, settings_path=Path("/nonexistent/settings.toml"))
    return PermsApp(ConsoleSources(locate=locate, perms=perms))


@SIZES
def test_perms_panel_demo_green(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    assert snap_compare(snapshot_app(snapshot_sandbox), terminal_size=size, run_before=settle)


def test_perms_panel_for_a_user_who_cannot_write(snap_compare, snapshot_sandbox) -> None:  # noqa: ANN001
    async def run_before(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pick_user(pilot, "nobody")

    assert snap_compare(
        snapshot_app(snapshot_sandbox), terminal_size=(120, 36), run_before=run_before
    )
