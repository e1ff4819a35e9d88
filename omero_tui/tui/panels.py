"""The panels: their tabs, keys and classes, imported only when first shown."""

from __future__ import annotations

import importlib

from textual.widget import Widget

# (tab id, title, key, module, class): the number keys work from anywhere, so no panel
# is two keystrokes away over a slow SSH link.
PANELS: tuple[tuple[str, str, str, str, str], ...] = (
    ("tab-overview", "Overview", "1", "overview_panel", "OverviewPanel"),
    ("tab-layout", "Layout", "2", "layout_panel", "LayoutPanel"),
    ("tab-usage", "Disk usage", "3", "usage_panel", "UsagePanel"),
    ("tab-locks", "Lock health", "4", "locks_panel", "LocksPanel"),
    ("tab-perms", "Permissions", "5", "perms_panel", "PermsPanel"),
    ("tab-database", "Database", "6", "database_panel", "DatabasePanel"),
)
HOME = PANELS[0][0]
TABS = tuple(p[0] for p in PANELS)

# Where Enter on an Overview row leads (relocation opens the wizard instead).
AREA_TABS = {
    "layout": "tab-layout",
    "usage": "tab-usage",
    "locks": "tab-locks",
    "permissions": "tab-perms",
    "server": "tab-perms",  # it names the server's processes and the user they run as
    "database": "tab-database",
}


def panel_class(tab: str) -> type[Widget]:
    """The panel's class; its module (and the core it needs) is imported now."""
    _, _, _, module, name = next(p for p in PANELS if p[0] == tab)
    return getattr(importlib.import_module(f"omero_tui.tui.widgets.{module}"), name)
