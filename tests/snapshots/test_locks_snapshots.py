"""SVG snapshots of the Lock health panel. Plain ``def``: snap_compare runs its own loop.

Device names and probe latencies differ between machines and runs, so the mount table
is a recorded one and every latency is frozen before the panel sees it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.locks.declared_mounts import DeclaredMount, DeclaredMounts
from omero_tui.core.locks.health import (
    LockHealthReport,
    LockHealthSource,
    inspect_locks,
    probe_report,
)
from omero_tui.core.locks.mount_trap import MountGuard
from omero_tui.core.locks.probe import DirectoryProbe, ProbeStep
from omero_tui.core.mounts import MountTable, parse_mountinfo
from omero_tui.core.record import replace
from omero_tui.core.server.for_location import StopCheck
from omero_tui.tui.sources import ConsoleSources
from tests.core.test_lock_probe import simulated_child
from tests.tui.test_locks_panel import LocksApp, settle

pytestmark = pytest.mark.xdist_group("snapshots")

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
FROZEN_MS = 0.25
NOTHING_DECLARED = DeclaredMounts((), (), ())
_MS_TEXT = re.compile(r"\d+(\.\d+)?(e-?\d+)? ms")


def recorded_table(sandbox: DemoSandbox, share: str | None = None) -> MountTable:
    """ "/" from a recorded host (plus, optionally, a recorded share at the data dir)."""
    dev = os.stat(sandbox.root).st_dev
    numbers = f"{os.major(dev)}:{os.minor(dev)}"
    lines = [f"27 1 {numbers} / / rw,relatime - ext4 /dev/vda rw,discard"]
    if share:
        lines.append(f"40 27 {numbers} / {sandbox.data_dir} rw,relatime - {share}")
    return MountTable(parse_mountinfo("\n".join(lines).encode()), has_devices=True)


def freeze_step(step: ProbeStep) -> ProbeStep:
    ms = None if step.ms is None else FROZEN_MS
    return replace(step, ms=ms, detail=_MS_TEXT.sub(f"{FROZEN_MS} ms", step.detail))


def freeze_probe(probe: DirectoryProbe | None) -> DirectoryProbe | None:
    if probe is None:
        return None
    kinds = tuple(replace(k, steps=tuple(freeze_step(s) for s in k.steps)) for k in probe.kinds)
    write = freeze_step(probe.write) if probe.write is not None else None
    return replace(probe, kinds=kinds, write=write)


def freeze_latencies(report: LockHealthReport) -> LockHealthReport:
    rows = tuple(replace(r, probe=freeze_probe(r.probe)) for r in report.directories)
    findings = tuple(
        replace(f, message=_MS_TEXT.sub(f"{FROZEN_MS} ms", f.message)) for f in report.findings
    )
    return replace(report, directories=rows, findings=findings)


def snapshot_app(
    sandbox: DemoSandbox,
    *,
    share: str | None = None,
    declared: DeclaredMounts = NOTHING_DECLARED,
    child: list[str] | None = None,
) -> LocksApp:
    def locate() -> ServerLocation:
        return discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[], demo=True)

    def inspect(location: ServerLocation) -> LockHealthReport:
        return inspect_locks(
            location,
            declared=declared,
            table=recorded_table(sandbox, share),
            process_names=lambda: {"rpc.statd"},
            guard=lambda _point, _user: MountGuard(True, False, None, "root:root 0755"),
        )

    def probe(report, progress, cancel):  # noqa: ANN001, ANN202
        return freeze_latencies(probe_report(report, progress, cancel, child_command=child))

    sources = ConsoleSources(
        locate=locate,
        locks=LockHealthSource(
            inspect=inspect,
            probe=probe,
            stopped=lambda _loc: StopCheck(False, "the server state is not asked in snapshots"),
        ),
        demo_label=str(sandbox.root),
    )
    return LocksApp(sources)


async def probed(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


@SIZES
def test_locks_panel_probed(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    assert snap_compare(snapshot_app(snapshot_sandbox), terminal_size=size, run_before=probed)


@SIZES
def test_locks_panel_trouble_simulated(snap_compare, snapshot_sandbox, size) -> None:  # noqa: ANN001
    """NFS v3 with nolock, a declared Pixels share not mounted, and locks that never exclude."""
    pixels = str(Path(snapshot_sandbox.data_dir) / "Pixels")
    declared = DeclaredMounts(
        (DeclaredMount(pixels, "nas:/export/pixels", "nfs4", ("rw", "hard"), "/etc/fstab line 9"),),
        ("/etc/fstab",),
        (),
    )
    app = snapshot_app(
        snapshot_sandbox,
        share="nfs nas:/export/omero rw,vers=3,hard,nolock,local_lock=all",
        declared=declared,
        child=simulated_child("AlwaysSucceeds"),
    )
    assert snap_compare(app, terminal_size=size, run_before=probed)
