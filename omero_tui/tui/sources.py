"""What the app reads its data from, injected so tests can hand in fixed reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.layout import LayoutReport, inspect_layout


@dataclass(frozen=True)
class ConsoleSources:
    locate: Callable[[], ServerLocation]
    inspect_layout: Callable[[ServerLocation], LayoutReport] = inspect_layout
    demo_label: str | None = None  # "DEMO sandbox at ..." when running the demo
