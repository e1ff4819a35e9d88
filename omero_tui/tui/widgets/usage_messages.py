"""Messages the Disk usage panel's thread workers post to it (``post_message`` is thread-safe)."""

from __future__ import annotations

from textual.message import Message

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.usage.files import FileListing
from omero_tui.core.usage.model import UsageProgress
from omero_tui.core.usage.report import UsageReport
from omero_tui.tui.widgets.usage_render import Level


class UsageLoaded(Message):
    def __init__(
        self, report: UsageReport | None, location: ServerLocation, *, scanned: bool = False
    ) -> None:
        super().__init__()
        self.report, self.location = report, location
        self.scanned = scanned  # a scan just made it (others then follow), not read back


class UsageFailed(Message):
    def __init__(self, error: str, *, refused: bool = False) -> None:
        super().__init__()
        self.error = error
        # A refusal in words (a Windows-era data dir, no data dir): UNKNOWN, not a crash.
        self.refused = refused


class UsageScanProgress(Message):
    def __init__(self, progress: UsageProgress) -> None:
        super().__init__()
        self.progress = progress


class UsageScanCancelled(Message):
    pass


class UsageFilesListed(Message):
    def __init__(self, level: Level, listing: FileListing) -> None:
        super().__init__()
        self.level, self.listing = level, listing


class UsageExported(Message):
    """The ncdu export of a full scan was written to ``path``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
