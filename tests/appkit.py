"""Building the app for pilot and snapshot tests with frozen, machine-independent data."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.health.source import HealthSource
from omero_tui.core.layout.inspection import LayoutReport, inspect_layout
from omero_tui.core.perms.source import PermsSource
from omero_tui.core.record import replace
from omero_tui.core.relocation.engine import EngineOptions
from omero_tui.core.usage.service import UsageSource
from omero_tui.tui.app import OmeroTuiApp
from omero_tui.tui.sources import ConsoleSources
from omero_tui.tui.wizard.source import WizardSource

# Like a frozen clock: the filesystem a temp dir lives on differs between machines.
FROZEN_DEVICE = "/dev/vda on / (ext4)"


def freeze_devices(report: LayoutReport) -> LayoutReport:
    def freeze(entry):  # noqa: ANN001, ANN202
        return replace(entry, device=FROZEN_DEVICE if entry.device else "")

    return replace(
        report,
        data_dir=freeze(report.data_dir),
        subdirs=tuple(freeze(e) for e in report.subdirs),
        managed_dir=freeze(report.managed_dir),
    )


def state_dir_of(sandbox: DemoSandbox) -> Path:
    """Never the admin's own state dir: caches, history and journals of tests stay apart."""
    return sandbox.root.parent / f"{sandbox.root.name}-state"


def demo_sources(
    sandbox: DemoSandbox, *, data_dir: str | None = None, server_dir: str | None = None
) -> ConsoleSources:
    def locate() -> ServerLocation:
        return discover(
            server_dir_arg=server_dir or str(sandbox.server_dir),
            data_dir_arg=data_dir,
            env={},
            candidates=[],
            demo=True,
        )

    def inspect(location: ServerLocation) -> LayoutReport:
        # No process walk for PostgreSQL in tests: this machine's own would leak in.
        return freeze_devices(inspect_layout(location, postgres_dirs=[]))

    state = state_dir_of(sandbox)
    return ConsoleSources(
        locate=locate,
        inspect_layout=inspect,
        demo_label=str(sandbox.root),
        usage=UsageSource(state_dir=state),
        perms=PermsSource(state_dir=state),
        health=HealthSource(state_dir=state),
        wizard=WizardSource(options=EngineOptions(state_dir=state)),
    )


def demo_app(sandbox: DemoSandbox, *, panel: str = "tab-layout", **kwargs: str) -> OmeroTuiApp:
    """The console on the sandbox, opened on ``panel`` (the Layout panel by default)."""
    return OmeroTuiApp(demo_sources(sandbox, **kwargs), initial_panel=panel)


def text_of(app: App, selector: str) -> str:
    """The plain text a Static on the active screen shows, whatever Rich renderable it holds."""
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


async def settle(pilot: Pilot) -> None:
    """Let the thread workers finish and their messages be handled."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def widget_text(widget: Widget) -> str:
    """Every word a widget holds, scrolled into view or not: a Static's content, a
    table's header and cells, a tree's labels, an input's value, a button's label."""
    from textual.widgets import Button, DataTable, Input, Tree
    from textual.widgets._toggle_button import ToggleButton

    def plain(value: object) -> str:
        if isinstance(value, str):
            return value
        console = Console(width=300, record=True, file=io.StringIO())
        console.print(value)
        return console.export_text()

    if not widget.display:
        return ""  # hidden (a "Finding the server…" line once it was found)
    if isinstance(widget, ToggleButton):  # a checkbox or radio button: its label
        return plain(widget.label)
    if isinstance(widget, Static):
        content = widget.content
        if isinstance(content, str) and widget._render_markup:  # noqa: SLF001
            from rich.errors import MarkupError
            from rich.text import Text

            try:
                return Text.from_markup(content).plain
            except MarkupError:
                return content
        return plain(content)
    if isinstance(widget, DataTable):
        header = [plain(c.label) for c in widget.columns.values()]
        rows = [plain(cell) for i in range(widget.row_count) for cell in widget.get_row_at(i)]
        return "\n".join(header + rows)
    if isinstance(widget, Tree):
        nodes, found = [widget.root], []
        while nodes:
            node = nodes.pop()
            found.append(plain(node.label))
            nodes.extend(node.children)
        return "\n".join(found)
    if isinstance(widget, Input):
        return widget.value
    if isinstance(widget, Button):
        return plain(widget.label)
    return ""


async def every_panel_text(pilot: Pilot) -> dict[str, str]:
    """Each panel's whole text once it has settled, opened one after the other."""
    from omero_tui.tui.panels import TABS

    app = pilot.app
    texts = {}
    for tab in TABS:
        await app.action_show_panel(tab)  # type: ignore[attr-defined]
        await settle(pilot)
        pane = app.screen.query_one(f"#{tab}")
        texts[tab] = "\n".join(widget_text(w) for w in pane.query("*"))
    texts["title"] = text_of(app, "#title-bar")
    return texts
