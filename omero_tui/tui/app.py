"""The omero-tui application: wiring only; panels live in ``widgets/``."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, TabbedContent, TabPane

from omero_tui import __version__
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.layout_panel import LayoutPanel

# Each panel keeps its styles next to its module; the app loads them all.
WIDGET_STYLES = sorted((Path(__file__).parent / "widgets").glob("*.tcss"))


class OmeroTuiApp(App[None]):
    CSS_PATH = [Path(__file__).parent / "app.tcss", *WIDGET_STYLES]
    TITLE = "omero-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        with TabbedContent(id="panels"), TabPane("Layout", id="tab-layout"):
            yield LayoutPanel(self.sources)
        yield Footer()

    def _title_text(self) -> str:
        title = f"[b]omero-tui[/b] {__version__}"
        if self.sources.demo_label:
            return f"{title}  [reverse] DEMO [/reverse] sandbox {self.sources.demo_label}"
        return f"{title}  ·  OMERO binary repository console"

    def on_mount(self) -> None:
        if self.sources.demo_label:
            self.add_class("demo")

    def action_refresh(self) -> None:
        """Re-read whatever the visible panel shows."""
        tabs = self.screen.query_one(TabbedContent)
        pane = tabs.get_pane(tabs.active)
        for panel in pane.children:
            refresh_report = getattr(panel, "refresh_report", None)
            if refresh_report is not None:
                refresh_report()
