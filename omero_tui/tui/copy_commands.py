"""`y` copies the commands a screen shows, whole, to the admin's clipboard.

A command wrapped on an 80-column screen is hard to select without a stray break, and
over SSH a mouse selection may not reach the admin's own clipboard at all. Textual's
``copy_to_clipboard`` sends OSC 52, which the admin's terminal (not the server's)
turns into a clipboard, through SSH and tmux (with ``set-clipboard on``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from omero_tui.core.findings import counted

# `omero-tui relocate --resume`, `omero fs repos`: a quoted span with a space in it is
# a command to type; one without (`omero.data.dir`) is a name, not copied.
QUOTED = re.compile(r"`([^`\n]+ [^`\n]*)`")


def commands_in(text: str) -> list[str]:
    """The commands quoted in backticks in ``text``, in order, each once."""
    return list(dict.fromkeys(match.strip() for match in QUOTED.findall(text)))


def shown_text(widget: Widget) -> str:
    """The plain words of every Static inside ``widget``."""
    parts = []
    for static in widget.query(Static):
        content = static.content
        parts.append(content.plain if isinstance(content, Text) else str(content))
    return "\n".join(parts)


def copy_commands(widget: Widget, commands: Iterable[str]) -> None:
    """Put ``commands`` on the clipboard, one a line, and say what was copied."""
    lines = list(dict.fromkeys(c for c in commands if c))
    if not lines:
        widget.notify("No command shown here to copy.", severity="warning")
        return
    widget.app.copy_to_clipboard("\n".join(lines) + "\n")
    first = lines[0] if len(lines) == 1 else f"{lines[0]} …"
    widget.notify(
        f"Copied {counted(len(lines), 'command')} to the clipboard: {first}\n"
        "(through OSC 52: your terminal must allow it; tmux needs set-clipboard on)",
        timeout=6,
    )
