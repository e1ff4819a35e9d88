"""What a pilot test's screen shows, as plain lines: to assert on rendered content."""

from __future__ import annotations

import re

from textual.app import App
from textual.widgets._footer import FooterKey

# A path or command cut in the middle of a word: "/a/b" then "c/d" on the next line.
PATH = re.compile(r"(?:~|/)[\w.@%+=:,/~-]*[\w/]")


def screen_lines(app: App) -> list[str]:
    """Every row of the screen as it is drawn now (modals and the footer included)."""
    strips = app.screen._compositor.render_strips()
    return [strip.text for strip in strips]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def footer_keys(app: App) -> list[str]:
    """The footer's keys as shown: "s Scan", "? Help", ... (hidden ones not)."""
    return [
        f"{k.key_display} {k.description}".strip()
        for k in app.screen.query(FooterKey)
        if k.display and k.region.width
    ]


def footer_fits(app: App) -> bool:
    """No key of the footer is cut or pushed past the right edge."""
    width = app.size.width
    for key in app.screen.query(FooterKey):
        region = key.region
        if region.right > width or region.width < len(key.key_display):
            return False
    return True
