"""The omero-tui application: wiring only; panels live in ``widgets/``."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane

from omero_tui import __version__
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.widgets.layout_panel import LayoutPanel
from omero_tui.tui.widgets.locks_panel import LocksPanel
from omero_tui.tui.widgets.perms_panel import PermsPanel
from omero_tui.tui.widgets.usage_panel import UsagePanel

# Each panel keeps its styles next to its module; the app loads them all.
WIDGET_STYLES = sorted((Path(__file__).parent / "widgets").glob("*.tcss"))

# (tab id, title, key): the number keys work from anywhere, so no panel is two
# keystrokes away over a slow SSH link.
PANELS = (
    ("tab-layout", "Layout", "1"),
    ("tab-usage", "Disk usage", "2"),
    ("tab-locks", "Lock health", "3"),
    ("tab-perms", "Permissions", "4"),
)
PANEL_CLASSES: dict[str, type[Widget]] = {
    "tab-layout": LayoutPanel,
    "tab-usage": UsagePanel,
    "tab-locks": LocksPanel,
    "tab-perms": PermsPanel,
}


class OmeroTuiApp(App[None]):
    CSS_PATH = [Path(__file__).parent / "app.tcss", *WIDGET_STYLES]
    TITLE = "omero-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        *(Binding(key, f"show_panel('{tab}')", title, show=False) for tab, title, key in PANELS),
    ]

    def __init__(self, sources: ConsoleSources) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        with TabbedContent(id="panels", initial=PANELS[0][0]):
            for tab, title, key in PANELS:
                # Only the first panel is built now; the others on first visit, so the
                # first frame never waits for a process walk or a lock-file census.
                with TabPane(f"{key} {title}", id=tab):
                    if tab == PANELS[0][0]:
                        yield PANEL_CLASSES[tab](self.sources)
        yield Footer()

    def _title_text(self) -> str:
        title = f"[b]omero-tui[/b] {__version__}"
        if self.sources.demo_label:
            return f"{title}  [reverse] DEMO [/reverse] sandbox {self.sources.demo_label}"
        return f"{title}  ·  OMERO binary repository console"

    def on_mount(self) -> None:
        if self.sources.demo_label:
            self.add_class("demo")

    def visible_panel(self) -> Widget | None:
        tabs = self.screen.query_one(TabbedContent)
        pane = tabs.get_pane(tabs.active)
        return next(iter(pane.children), None)

    async def _ensure_panel(self, tab: str) -> Widget:
        pane = self.screen.query_one(TabbedContent).get_pane(tab)
        if not pane.children:
            await pane.mount(PANEL_CLASSES[tab](self.sources))
        return pane.children[0]

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in PANEL_CLASSES:
            await self._ensure_panel(event.pane.id)

    async def action_show_panel(self, tab: str) -> None:
        self.screen.query_one(TabbedContent).active = tab
        panel = await self._ensure_panel(tab)
        # Focus inside the panel, so its own keys (scan, probe, fix) work at once.
        target = next((w for w in panel.query("*") if w.can_focus), panel)
        target.focus()

    def action_refresh(self) -> None:
        """Re-read whatever the visible panel shows."""
        panel = self.visible_panel()
        refresh_report = getattr(panel, "refresh_report", None)
        if refresh_report is not None:
            refresh_report()
