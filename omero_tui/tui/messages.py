"""Messages posted from worker threads to the UI (``post_message`` is thread-safe)."""

from __future__ import annotations

from textual.message import Message

from omero_tui.core.layout.inspection import LayoutReport


class LayoutReady(Message):
    def __init__(self, report: LayoutReport) -> None:
        super().__init__()
        self.report = report


class LayoutFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
