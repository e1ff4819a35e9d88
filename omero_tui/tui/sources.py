"""What the app reads its data from, injected so tests can hand in fixed reports.

Defaults are built lazily (see ``lazy.py``): importing this module, or making a
``ConsoleSources``, costs nothing on the way to the console's first frame.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.health.source import HealthSource
from omero_tui.core.record import field, frozen
from omero_tui.tui.lazy import lazy

if TYPE_CHECKING:
    from omero_tui.core.database.model import DbReport
    from omero_tui.core.layout.inspection import LayoutReport
    from omero_tui.core.locks.health import LockHealthSource
    from omero_tui.core.perms.source import PermsSource
    from omero_tui.core.usage.service import UsageSource
    from omero_tui.tui.wizard.source import WizardSource


def check_database(location: ServerLocation, **kwargs: object) -> DbReport:
    from omero_tui.core.database.check import check_database as check

    return check(location, **kwargs)  # type: ignore[arg-type]


def inspect_layout(location: ServerLocation) -> LayoutReport:
    from omero_tui.core.layout.inspection import inspect_layout as inspect

    return inspect(location)


@frozen
class ConsoleSources:
    locate: Callable[[], ServerLocation]
    inspect_layout: Callable[[ServerLocation], LayoutReport] = inspect_layout
    demo_label: str | None = None  # "DEMO sandbox at ..." when running the demo
    settings_path: Path | None = None  # --settings FILE; None: the default settings file
    # the Lock health panel's report and probe
    locks: LockHealthSource = field(
        default_factory=lambda: lazy("omero_tui.core.locks.health", "LockHealthSource")
    )
    # the Permissions panel's check, fix and undo
    perms: PermsSource = field(
        default_factory=lambda: lazy("omero_tui.core.perms.source", "PermsSource")
    )
    # the Disk usage panel's scans, history and volumes
    usage: UsageSource = field(
        default_factory=lambda: lazy("omero_tui.core.usage.service", "UsageSource")
    )
    health: HealthSource = HealthSource()  # the Overview's cached and refreshed report
    # the Database panel's check: (location, verify_hash=, progress=, cancel=) -> DbReport
    check_database: Callable[..., DbReport] = check_database
    # the relocation engine, as the wizard calls it
    wizard: WizardSource = field(
        default_factory=lambda: lazy("omero_tui.tui.wizard.source", "WizardSource")
    )
