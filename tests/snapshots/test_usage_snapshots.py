"""SVG snapshots of the Disk usage panel: idle, scanning, drilled down.

Everything that differs between machines or minutes is frozen: the clock, the volume
(size, free space, device), the history behind the trends, and the allocated sizes
(taken as the apparent sizes, since block allocation depends on the filesystem the
sandbox sits on). The scan itself is a real scan of the demo sandbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

from omero_tui.core.discovery import discover
from omero_tui.core.record import replace
from omero_tui.core.usage.assemble import WalkResult, assemble
from omero_tui.core.usage.cache import save_scan
from omero_tui.core.usage.files import FileListing, largest_files
from omero_tui.core.usage.history import history_path
from omero_tui.core.usage.model import ScanCancelled, UsageProgress, UsageScan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.service import UsageService, UsageSource
from omero_tui.core.usage.volumes import Volume
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.usage_panel import UsagePanel
from tests.appkit import settle

pytestmark = pytest.mark.xdist_group("snapshots")

STYLES = Path(__file__).resolve().parents[2] / "omero_tui/tui/widgets/usage_panel.tcss"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
SCANNED_AT = NOW - 2 * 3600
DAY, GIB = 86400, 1 << 30
SIZES = [(80, 24), (120, 36)]
IDS = ["80x24", "120x36"]


class UsageApp(App[None]):
    CSS_PATH = [STYLES]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield UsagePanel(self.sources)
        yield Footer()


def blocks(size: int) -> int:
    return -(-size // 512)


def frozen(scan: UsageScan) -> UsageScan:
    """The scan with machine-independent sizes and times (see the module docstring)."""
    walk: WalkResult = scan.raw
    records = [
        {
            rel: (rel, r[1], 0, 0, 4096, 8, r[6], r[7], blocks(r[7]), r[9], b"")
            for rel, r in found.items()
        }
        for found in walk.records
    ]
    links = [[(*k[:4], blocks(k[3]), *k[5:]) for k in found] for found in walk.links]
    return assemble(
        replace(
            walk,
            records=records,
            links=links,
            days={},
            started_at=SCANNED_AT - 1,
            finished_at=SCANNED_AT,
            full_scan_at=None,
        )
    )


def write_history(state: Path, scan: UsageScan) -> None:
    """45 days of scans: the volume fills by 5 GiB a day, ManagedRepository grows."""
    lines = []
    for i in range(10):
        at = NOW - (45 - 5 * i) * DAY
        units = {u.name: u.totals.allocated_bytes for u in scan.units}
        units["ManagedRepository"] = units["ManagedRepository"] * (i + 1) // 10
        units["Pixels"] = units["Pixels"] * (5 + i) // 14
        used = (795 - 5 * (45 - 5 * i)) * GIB
        lines.append(
            {
                "repository": scan.data_dir,
                "at": at,
                "quick": False,
                "allocated_bytes": sum(units.values()),
                "apparent_bytes": 0,
                "files": scan.totals.files,
                "units": units,
                "volumes": {"/": [used, 1000 * GIB]},
            }
        )
    path = history_path(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def frozen_volumes(scan: UsageScan) -> tuple[Volume, ...]:
    return (
        Volume(
            mount_point="/",
            device="/dev/vda on / (ext4)",
            holds=("data dir",),
            path=scan.data_dir,
            total_bytes=1000 * GIB,
            used_bytes=795 * GIB,
            free_bytes=205 * GIB,
            total_inodes=65_536_000,
            free_inodes=61_234_567,
        ),
    )


def frozen_files(path: str, limit: int) -> FileListing:
    listing = largest_files(path, limit)
    files = tuple(replace(f, allocated_bytes=blocks(f.apparent_bytes) * 512) for f in listing.files)
    return replace(listing, files=files, more_allocated_bytes=0)


class FrozenScanService(UsageService):
    """A scan frozen at 46%: it reports once, then waits to be cancelled."""

    def scan(self, location, *, quick=False, export=None, progress=None, cancel=None):  # noqa: ANN001, ANN201
        assert progress is not None and cancel is not None
        progress(
            UsageProgress(123_456, 3_210, 37 * GIB, 4.2, 29_394.3, 268_000, quick, files=120_000)
        )
        cancel.wait(30)
        raise ScanCancelled()


@pytest.fixture(scope="module")
def frozen_state(snapshot_sandbox, tmp_path_factory) -> Path:  # noqa: ANN001
    """The scan on record and its history; the snapshots only read them."""
    state = tmp_path_factory.mktemp("usage-state")
    scan = frozen(scan_usage(str(snapshot_sandbox.data_dir), pool=ScanPool(0)))
    save_scan(scan, state)
    write_history(state, scan)
    return state


@pytest.fixture
def frozen_app(snapshot_sandbox, frozen_state):  # noqa: ANN001, ANN201
    state = frozen_state
    server_dir = str(snapshot_sandbox.server_dir)

    def make(**usage) -> UsageApp:  # noqa: ANN003
        source = UsageSource(
            state_dir=state,
            now=lambda: NOW,
            volumes=frozen_volumes,
            files=frozen_files,
            workers=0,
            **usage,
        )
        locate = lambda: discover(server_dir_arg=server_dir, env={}, candidates=[], demo=True)  # noqa: E731
        return UsageApp(ConsoleSources(locate=locate, usage=source))

    return make


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_idle_with_last_scan(snap_compare, frozen_app, size) -> None:  # noqa: ANN001
    assert snap_compare(frozen_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_scanning(snap_compare, frozen_app, size) -> None:  # noqa: ANN001
    async def start_scan(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        for _ in range(100):
            await pilot.pause(0.02)
            if pilot.app.screen.query_one(UsagePanel).scanning and "123,456" in str(
                pilot.app.screen.query_one("#usage-scan").content
            ):
                break
        await pilot.pause()

    assert snap_compare(
        frozen_app(make=FrozenScanService), terminal_size=size, run_before=start_scan
    )


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_drilled_down(snap_compare, frozen_app, size) -> None:  # noqa: ANN001
    async def open_largest(pilot: Pilot) -> None:
        await settle(pilot)
        pilot.app.screen.query_one("#usage-table").focus()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=size, run_before=open_largest)
