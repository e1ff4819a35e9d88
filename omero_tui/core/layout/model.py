"""The layout report's shape: the entries found on disk and what judging them needs.

Both ``inspection`` (which builds the report) and ``findings`` (which judges it) import
these; neither imports the other's types.
"""

from __future__ import annotations

from omero_tui.core.config.sources import ConfigSource
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding
from omero_tui.core.layout.identity import RepoIdentity
from omero_tui.core.layout.subdirs import STANDARD_SUBDIRS as STANDARD_SUBDIRS
from omero_tui.core.record import frozen, replace

# Listed only when present.
OPTIONAL_SUBDIRS: tuple[tuple[str, str], ...] = (
    ("DropBox", "OMERO.dropbox watch folders (omero.fs.watchDir)"),
    ("backup", "backups kept by the admin (not used by the server)"),
)
# Standard subdirs whose location a property can move elsewhere.
RELOCATABLE: dict[str, str] = {
    "ManagedRepository": "omero.managed.dir",
    "BioFormatsCache": "omero.pixeldata.memoizer.dir",
}
USABLE = ("present", "symlink", "mount point")


@frozen
class EntryInfo:
    """One directory of the repository as found on disk."""

    name: str  # "Pixels", ..., or "data dir" / "managed dir" for the roots
    path: str
    state: str  # "present" | "missing" | "symlink" | "mount point" | "not a directory"
    #             | "unreadable" | "broken symlink"
    target: str | None  # resolved target for a symlink
    device: str  # filesystem it lives on, e.g. "/dev/vda on / (ext4)"; "" if missing
    holds: str  # what OMERO keeps there, in words
    standard: bool  # one of STANDARD_SUBDIRS (or DropBox/backup, which are optional)


@frozen
class LayoutReport:
    location: ServerLocation
    data_dir: EntryInfo
    subdirs: tuple[EntryInfo, ...]  # standard ones always listed; DropBox/backup if present
    managed_dir: EntryInfo
    managed_outside: bool  # managed dir not directly at <data dir>/ManagedRepository
    identities: tuple[RepoIdentity, ...]  # data dir, then managed dir (each has its own .omero)
    findings: tuple[Finding, ...]
    # What sets a repository path at the next start, winning over config.xml
    # (.omero files, CONFIG_* variables, the systemd unit).
    config_sources: tuple[ConfigSource, ...] = ()


@frozen
class Probe:
    """An EntryInfo plus what judging it needs and the report does not show."""

    entry: EntryInfo
    dev: int | None  # st_dev of what the path leads to
    has_data: bool  # holds a non-hidden entry
    unused: bool = False  # a property points OMERO elsewhere: not expected to be used

    @property
    def usable(self) -> bool:
        return self.entry.state in USABLE

    def with_state(self, state: str) -> Probe:
        return replace(self, entry=replace(self.entry, state=state))

    def unused_because(self, reason: str) -> Probe:
        if self.entry.state == "missing":
            holds = f"{reason} (absent here, as expected)"
        elif self.has_data:
            holds = f"{reason}; still holds files here (from before that was set?)"
        else:
            holds = f"{reason} (empty here)"
        return replace(self, entry=replace(self.entry, holds=holds), unused=True)
