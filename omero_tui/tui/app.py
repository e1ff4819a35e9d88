"""The omero-tui application: wiring only; panels live in ``widgets/``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane

from omero_tui import __version__
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.tui.palette import console_commands
from omero_tui.tui.screens.confirm_modal import ConfirmModal
from omero_tui.tui.screens.help_screen import HelpScreen
from omero_tui.tui.screens.resume_prompt import ResumePrompt
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.theme_choice import THEMES, save_theme, saved_theme
from omero_tui.tui.widgets.layout_panel import LayoutPanel
from omero_tui.tui.widgets.locks_panel import LocksPanel
from omero_tui.tui.widgets.overview_panel import OverviewPanel
from omero_tui.tui.widgets.perms_panel import PermsPanel
from omero_tui.tui.widgets.usage_panel import UsagePanel
from omero_tui.tui.wizard.wizard_screen import RelocationWizard

# Each panel, modal and the wizard keep their styles next to their modules.
HERE = Path(__file__).parent
WIDGET_STYLES = sorted(
    path for folder in ("widgets", "screens", "wizard") for path in (HERE / folder).glob("*.tcss")
)

# (tab id, title, key): the number keys work from anywhere, so no panel is two
# keystrokes away over a slow SSH link.
PANELS = (
    ("tab-overview", "Overview", "1"),
    ("tab-layout", "Layout", "2"),
    ("tab-usage", "Disk usage", "3"),
    ("tab-locks", "Lock health", "4"),
    ("tab-perms", "Permissions", "5"),
)
PANEL_CLASSES: dict[str, type[Widget]] = {
    "tab-overview": OverviewPanel,
    "tab-layout": LayoutPanel,
    "tab-usage": UsagePanel,
    "tab-locks": LocksPanel,
    "tab-perms": PermsPanel,
}
# Where Enter on an Overview row leads.
AREA_TABS = {
    "layout": "tab-layout",
    "usage": "tab-usage",
    "locks": "tab-locks",
    "permissions": "tab-perms",
    "server": "tab-perms",  # it names the server's processes and the user they run as
}
RELOCATION_AREA = "relocation"
PANEL_ACTIONS = ("refresh", "relocate", "show_panel")


class OmeroTuiApp(App[None]):
    CSS_PATH = [HERE / "app.tcss", *WIDGET_STYLES]
    TITLE = "omero-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        Binding("w", "relocate", "Relocate…"),
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", "Help", show=False),
        *(Binding(key, f"show_panel('{tab}')", title, show=False) for tab, title, key in PANELS),
    ]

    def __init__(self, sources: ConsoleSources, *, initial_panel: str = PANELS[0][0]) -> None:
        super().__init__()
        self.sources = sources
        self.initial_panel = initial_panel

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        with TabbedContent(id="panels", initial=self.initial_panel):
            for tab, title, key in PANELS:
                # Only the first panel is built now; the others on first visit, so the
                # first frame never waits for a process walk or a lock-file census.
                with TabPane(f"{key} {title}", id=tab):
                    if tab == self.initial_panel:
                        yield PANEL_CLASSES[tab](self.sources)
        yield Footer()

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
        self._look_for_unfinished()

    @work(thread=True, exclusive=True, group="unfinished", exit_on_error=False)
    def _look_for_unfinished(self) -> None:
        # After the first frame: reading journals is quick, but never on the start path.
        status = self.sources.wizard.unfinished()
        if status is not None:
            self.call_from_thread(self._offer_resume, status)

    def _offer_resume(self, status: RelocationStatus) -> None:
        def chosen(choice: str | None) -> None:
            if choice:
                self.open_wizard(resume=status, start_with=None if choice == "look" else choice)

        self.push_screen(ResumePrompt(status), chosen)

    def open_wizard(
        self, *, resume: RelocationStatus | None = None, start_with: str | None = None
    ) -> None:
        if isinstance(self.screen, RelocationWizard):
            return
        self.push_screen(
            RelocationWizard(
                self.sources.locate,
                self.sources.wizard,
                demo_label=self.sources.demo_label,
                resume=resume,
                start_with=start_with,
            )
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from console_commands(self)

    async def run_panel_action(self, tab: str, action: str | None) -> None:
        if isinstance(self.screen, RelocationWizard):
            self.notify("Close the wizard first (Esc).")
            return
        await self.action_show_panel(tab)
        panel = self.visible_panel()
        if action is not None and panel is not None:
            await panel.run_action(action)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        where = "wizard" if isinstance(self.screen, RelocationWizard) else None
        if where is None:
            where = self.screen.query_one(TabbedContent).active
        self.push_screen(HelpScreen(where))

    def action_toggle_theme(self) -> None:
        choice = "light" if self.theme == THEMES["dark"] else "dark"
        self.theme = THEMES[choice]
        problem = save_theme(self.sources.settings_path, choice)
        if problem:
            self.notify(f"Theme not saved: {problem}", severity="warning")

    def action_relocate(self) -> None:
        status = self.sources.wizard.unfinished()
        self.open_wizard(resume=status)

    async def action_quit(self) -> None:
        screen = self.screen
        if isinstance(screen, RelocationWizard) and screen.state.running is not None:

            def answered(yes: bool | None) -> None:
                if yes:
                    screen.cancel_event.set()
                    self._quit_when_idle(screen)

            self.push_screen(
                ConfirmModal(
                    "A relocation is running",
                    [
                        "Quitting stops it at the next safe point; resume or roll it back",
                        "later (the console offers that when it starts again).",
                    ],
                    action="Stop safely and quit",
                    cancel="Keep going",
                ),
                answered,
            )
            return
        self.exit()

    def _quit_when_idle(self, screen: RelocationWizard) -> None:
        if screen.state.running is None:
            self.exit()
        else:
            self.set_timer(0.2, lambda: self._quit_when_idle(screen))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The wizard is a screen of its own: the panels' keys mean nothing there.
        return not (isinstance(self.screen, RelocationWizard) and action in PANEL_ACTIONS)

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

    @on(OverviewPanel.Open)
    async def _open_area(self, message: OverviewPanel.Open) -> None:
        if message.area == RELOCATION_AREA:
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

    def action_refresh(self) -> None:
        """Re-read whatever the visible panel shows."""
        panel = self.visible_panel()
        refresh_report = getattr(panel, "refresh_report", None)
        if refresh_report is not None:
            refresh_report()
