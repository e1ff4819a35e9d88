"""What the app reads its data from, injected so tests can hand in fixed reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.health_source import HealthSource
from omero_tui.core.layout import LayoutReport, inspect_layout
from omero_tui.core.lock_health import LockHealthSource
from omero_tui.core.perms_source import PermsSource
from omero_tui.core.usage_service import UsageSource
from omero_tui.tui.wizard.source import WizardSource


@dataclass(frozen=True)
class ConsoleSources:
    locate: Callable[[], ServerLocation]
    inspect_layout: Callable[[ServerLocation], LayoutReport] = inspect_layout
    demo_label: str | None = None  # "DEMO sandbox at ..." when running the demo
    settings_path: Path | None = None  # --settings FILE; None: the default settings file
    locks: LockHealthSource = LockHealthSource()  # the Lock health panel's report and probe
    perms: PermsSource = PermsSource()  # the Permissions panel's check, fix and undo
    usage: UsageSource = UsageSource()  # the Disk usage panel's scans, history and volumes
    health: HealthSource = HealthSource()  # the Overview's cached and refreshed report
    wizard: WizardSource = WizardSource()  # the relocation engine, as the wizard calls it
