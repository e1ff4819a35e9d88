"""One place where changes are said, and every panel that shows the changed data follows.

Whatever changes the repository, or what the console knows about it (the wizard closing,
a permission fix or undo, stale lock files removed, a user picked, a scan finished),
posts a ``DataChanged`` naming the areas it touched. It bubbles up to the app, which
keeps the choices the panels share (the user picked for permissions) and hands a
``FollowChange`` to every panel built so far, the Overview included, visible or not.
A panel that shows one of those areas marks itself stale at once (dimmed until its
fresh report arrives) and re-reads. No panel needs to know who else shows the data.
"""

from __future__ import annotations

from typing import ClassVar

from textual.message import Message
from textual.widget import Widget

from omero_tui.core.record import frozen

# The areas a change can touch. LOCATION: the repository may live elsewhere now.
LOCATION = "location"
USAGE = "usage"
LOCKS = "locks"
PERMS = "perms"
SERVER = "server"
RELOCATION = "relocation"
EVERYTHING = frozenset({LOCATION, USAGE, LOCKS, PERMS, SERVER, RELOCATION})

STALE = "-stale"  # the CSS class of a panel whose figures are being re-read
KEEP = object()  # "this change picks no user"


@frozen
class Change:
    areas: frozenset[str]
    why: str  # in words, for a panel that says what it re-reads
    perms_user: object = KEEP  # a picked user name, None for the server's own, or KEEP


class DataChanged(Message):
    """Posted by whoever changed something; bubbles up to the app, which broadcasts it."""

    def __init__(self, change: Change, origin: Widget | None = None) -> None:
        super().__init__()
        self.change = change
        self.origin = origin  # it shows its own result already: not told again


class FollowChange(Message):
    """Handed by the app to each panel; never bubbles back up."""

    bubble = False

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


def changed(*areas: str, why: str, origin: Widget | None = None, **extra: object) -> DataChanged:
    return DataChanged(Change(frozenset(areas), why, **extra), origin)  # type: ignore[arg-type]


class FollowsChanges:
    """Mixed into a panel (before its Widget base): ``FOLLOWS`` names what it shows."""

    FOLLOWS: ClassVar[frozenset[str]] = frozenset()

    def on_follow_change(self, message: FollowChange) -> None:
        change = message.change
        if not change.areas & self.FOLLOWS:
            return
        self.add_class(STALE)  # type: ignore[attr-defined]
        self.follow(change)

    def follow(self, change: Change) -> None:
        """Re-read what the panel shows; a panel with more to do overrides this."""
        self.refresh_report()  # type: ignore[attr-defined]

    def mark_fresh(self) -> None:
        """Called by the panel when it shows a report read after the last change."""
        self.remove_class(STALE)  # type: ignore[attr-defined]


def broadcast(root: Widget, change: Change, origin: Widget | None = None) -> int:
    """Hand ``change`` to every follower under ``root``; how many were told."""
    told = 0
    for widget in root.walk_children(with_self=False):
        if isinstance(widget, FollowsChanges) and widget is not origin:
            widget.post_message(FollowChange(change))
            told += 1
    return told
