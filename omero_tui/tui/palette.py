"""The command palette (ctrl+p): every action of every panel, by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

if TYPE_CHECKING:
    from omero_tui.tui.app import OmeroTuiApp

# (title, help, tab, panel action or None to just open the panel)
PANEL_COMMANDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Overview", "One line per area, and the finding that matters most", "tab-overview", None),
    ("Layout", "What is where, what is missing, what is misplaced", "tab-layout", None),
    ("Disk usage", "Where the space goes, free space, days until full", "tab-usage", None),
    ("Disk usage: full scan", "Scan the whole repository, exactly as du counts", "tab-usage",
     "scan"),
    ("Disk usage: quick rescan", "Re-read only directories changed since the last scan",
     "tab-usage", "quick"),
    ("Disk usage: export for ncdu", "A full scan written in ncdu's JSON format", "tab-usage",
     "export"),
    ("Lock health", "Filesystem types, mount options, lock files, log symptoms", "tab-locks",
     None),
    ("Lock health: probe locks", "Test flock and fcntl between two processes in each directory",
     "tab-locks", "probe"),
    ("Lock health: remove stale lock files", "Only once the server is proven stopped",
     "tab-locks", "remove_stale"),
    ("Permissions", "What the server's user can read, write and enter", "tab-perms", None),
    ("Permissions: deep check", "Every entry of the repository, for the server user",
     "tab-perms", "deep"),
    ("Permissions: fix", "Show the exact fix commands, apply them after you confirm",
     "tab-perms", "fix"),
    ("Permissions: undo the last fix", "Restore the owners and modes recorded by the last fix",
     "tab-perms", "undo"),
    ("Permissions: choose the server user", "Judge for another user", "tab-perms",
     "pick_user"),
    ("Database", "OMERO's records against the files: missing, orphans, usage per user",
     "tab-database", None),
    ("Database: verify checksums", "Check every file's content against its recorded checksum",
     "tab-database", "verify_hash"),
)  # fmt: skip


def console_commands(app: OmeroTuiApp) -> Iterator[SystemCommand]:
    for title, help_text, tab, action in PANEL_COMMANDS:

        async def run(tab: str = tab, action: str | None = action) -> None:
            await app.run_panel_action(tab, action)

        yield SystemCommand(title, help_text, run)
    yield SystemCommand(
        "Relocate the repository",
        "The wizard: stop, move, verify, rewrite config.xml, start",
        app.action_relocate,
    )
    yield SystemCommand("Help", "Help for the panel on screen", app.action_help)
    yield SystemCommand(
        "Switch light/dark theme", "Saved in the settings file", app.action_toggle_theme
    )
