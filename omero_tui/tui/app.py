"""The omero-tui application: wiring only; panels live in ``widgets/``.

The first frame needs only the Overview: every other panel, the wizard and their cores
are imported when first used (see ``panels.py``, ``relocation_hooks.py``, ``lazy.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from omero_tui import __version__
from omero_tui.core.discovery import no_server_reason
from omero_tui.tui.changes import KEEP, Change, DataChanged, broadcast
from omero_tui.tui.panels import AREA_TABS, HOME, PANELS, TABS, panel_class
from omero_tui.tui.relocation_hooks import RelocationHooks, is_wizard
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.theme_choice import THEMES, save_theme, saved_theme
from omero_tui.tui.widgets.fitting_footer import FittingFooter
from omero_tui.tui.widgets.overview_panel import OverviewPanel

# Each panel, modal and the wizard keep their styles next to their modules.
HERE = Path(__file__).parent
WIDGET_STYLES = sorted(
    path for folder in ("widgets", "screens", "wizard") for path in (HERE / folder).glob("*.tcss")
)
PANEL_ACTIONS = ("refresh", "relocate", "show_panel")


class OmeroTuiApp(RelocationHooks, App[None]):
    CSS_PATH = [HERE / "app.tcss", *WIDGET_STYLES]
    TITLE = "omero-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        Binding("w", "relocate", "Relocate…"),
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", "Help", show=False),
        *(
            Binding(key, f"show_panel('{tab}')", title, show=False)
            for tab, title, key, *_ in PANELS
        ),
    ]

    def __init__(self, sources: ConsoleSources, *, initial_panel: str = HOME) -> None:
        super().__init__()
        self.sources = sources
        self.initial_panel = initial_panel
        # Shared by every panel that judges permissions (Permissions and the Overview):
        # None is the server's own user, worked out.
        self.perms_user: str | None = None
        # No sliding tab underlines or pulsing bars: over a slow SSH link every
        # animation frame is bytes the admin waits behind.
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        with TabbedContent(id="panels", initial=self.initial_panel):
            for tab, title, key, *_ in PANELS:
                # Only the first panel is built now; the others on first visit, so the
                # first frame never waits for a process walk or a lock-file census.
                with TabPane(f"{key} {title}", id=tab):
                    if tab == self.initial_panel:
                        yield panel_class(tab)(self.sources)
        yield FittingFooter()

    def _title_text(self) -> str:
        title = f"[b]omero-tui[/b] {__version__}"
        if self.sources.demo_label:
            return f"{title}  [reverse] DEMO [/reverse] sandbox {self.sources.demo_label}"
        return f"{title}  ·  OMERO binary repository console"

    async def on_mount(self) -> None:
        if self.sources.demo_label:
            self.add_class("demo")
        self.theme = THEMES[saved_theme(self.sources.settings_path)]
        await self.action_show_panel(self.initial_panel)
        self.look_for_server()
        self.look_for_unfinished()

    @work(thread=True, exclusive=True, group="no-server", exit_on_error=False)
    def look_for_server(self) -> None:
        # In a thread: a hung share among the usual install dirs never freezes the start.
        reason = no_server_reason(self.sources.locate())
        if reason is not None:
            self.call_from_thread(self._show_no_server, reason)

    def _show_no_server(self, reason: str) -> None:
        from omero_tui.tui.screens.no_server import NoServerScreen

        self.push_screen(
            NoServerScreen(reason, self.sources.locate, self._title_text()),
            lambda _found: self.action_refresh(),
        )

    # ------------------------------------------------------------------ panels

    def visible_panel(self) -> Widget | None:
        tabs = self.screen.query_one(TabbedContent)
        pane = tabs.get_pane(tabs.active)
        return next(iter(pane.children), None)

    async def _ensure_panel(self, tab: str) -> Widget:
        pane = self.screen.query_one(TabbedContent).get_pane(tab)
        if not pane.children:
            await pane.mount(panel_class(tab)(self.sources))
        return pane.children[0]

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in TABS:
            await self._ensure_panel(event.pane.id)

    @on(OverviewPanel.Open)
    async def _open_area(self, message: OverviewPanel.Open) -> None:
        if message.area == "relocation":
            self.action_relocate()
            return
        tab = AREA_TABS.get(message.area)
        if tab is not None:
            await self.action_show_panel(tab)

    async def action_show_panel(self, tab: str) -> None:
        self.screen.query_one(TabbedContent).active = tab
        panel = await self._ensure_panel(tab)
        # Focus inside the panel, so its own keys (scan, probe, fix) work at once.
        target = next((w for w in panel.query("*") if w.can_focus), panel)
        target.focus(scroll_visible=False)  # the panel's head stays in view

    async def run_panel_action(self, tab: str, action: str | None) -> None:
        if is_wizard(self.screen):
            self.notify("Close the wizard first (Esc).")
            return
        await self.action_show_panel(tab)
        panel = self.visible_panel()
        if action is not None and panel is not None:
            await panel.run_action(action)

    def action_refresh(self) -> None:
        """Re-read whatever the visible panel shows."""
        refresh_report = getattr(self.visible_panel(), "refresh_report", None)
        if refresh_report is not None:
            refresh_report()

    # ------------------------------------------------------------------ changes

    @on(DataChanged)
    def _data_changed(self, message: DataChanged) -> None:
        message.stop()
        self.publish(message.change, origin=message.origin)

    def publish(self, change: Change, origin: Widget | None = None) -> None:
        """Every panel built so far that shows a changed area follows, visible or not."""
        if change.perms_user is not KEEP:
            self.perms_user = change.perms_user  # type: ignore[assignment]
        broadcast(self.screen_stack[0], change, origin)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Panel keys act on the panels' screen only, not on the wizard, help or a modal.
        return action not in PANEL_ACTIONS or self.screen is self.screen_stack[0]

    # ------------------------------------------------------------------ help, palette, theme

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from omero_tui.tui.palette import console_commands

        yield from super().get_system_commands(screen)
        yield from console_commands(self)

    def action_help(self) -> None:
        from omero_tui.tui.screens.help_screen import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        on_panel = not is_wizard(self.screen)
        where = self.screen.query_one(TabbedContent).active if on_panel else "wizard"
        self.push_screen(HelpScreen(where))

    def action_toggle_theme(self) -> None:
        choice = "light" if self.theme == THEMES["dark"] else "dark"
        self.theme = THEMES[choice]
        problem = save_theme(self.sources.settings_path, choice)
        if problem:
            self.notify(f"Theme not saved: {problem}", severity="warning")
