"""A footer that fits its width: the least useful keys go first, Help never.

Textual's own footer cuts whatever passes the right edge, which at 80 columns was
Help and the panel's last keys. Here the keys that are known without a footer go
first (the command palette, quit, relocate, refresh: all in the help), then keys that
do nothing now, then panel keys from the right; `?` stays, and lists them all.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP = ("help",)
# Dropped in this order before any other key.
LOW_VALUE = ("command_palette", "quit", "app.quit", "relocate", "refresh")


def key_width(key: FooterKey) -> int:
    """Cells the key takes, as FooterKey pads it (key ` x `, description `Desc `)."""
    width = len(key.key_display) + 2 + (len(key.description) + 1 if key.description else 0)
    if key.has_class("-command-palette"):
        width += 2  # its left border and right padding
    return width


def drop_order(keys: list[FooterKey]) -> list[FooterKey]:
    """The keys that may go, least useful first."""
    low = sorted(
        (k for k in keys if k.action in LOW_VALUE), key=lambda k: LOW_VALUE.index(k.action)
    )
    idle = [k for k in reversed(keys) if k.disabled and k not in low]
    rest = [k for k in reversed(keys) if k not in low and k not in idle]
    return [k for k in (*low, *idle, *rest) if k.action not in KEEP]


def fitted(widgets: list[Widget], width: int) -> list[Widget]:
    keys = [w for w in widgets if isinstance(w, FooterKey)]
    used = sum(key_width(k) for k in keys)
    dropped: set[int] = set()
    for key in drop_order(keys):
        if used <= width:
            break
        dropped.add(id(key))
        used -= key_width(key)
    return [w for w in widgets if id(w) not in dropped]


class FittingFooter(Footer):
    def compose(self) -> ComposeResult:
        width = self.size.width or self.app.size.width
        yield from fitted(list(super().compose()), width)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != getattr(self, "_fitted_width", None):
            self._fitted_width = event.size.width
            self.call_after_refresh(self.recompose)
