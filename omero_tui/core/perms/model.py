"""The Permissions report's shape: one row per directory as the server user meets it.

``check`` (POSIX rows), ``windows`` (rows from ``icacls``) and ``findings`` (which judges
the rows) all import these; none imports another for its types.
"""

from __future__ import annotations

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding
from omero_tui.core.layout.model import STANDARD_SUBDIRS
from omero_tui.core.perms.server_user import ServerUser
from omero_tui.core.record import frozen
from omero_tui.core.server.processes import ServerProcess

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.perms.deep import DeepResult

USED_SUBDIRS = tuple(name for name, _ in STANDARD_SUBDIRS) + ("DropBox", ".omero")
IDENTITY = (".omero", "repository")


@frozen
class DirAccess:
    """One directory as the server user meets it."""

    label: str  # "data dir", "Pixels", ".omero/repository/<uuid>", or the path of an ancestor
    path: str
    kind: str  # "ancestor" (must be traversable) | "repository" (must be read, written, entered)
    present: bool
    owner: str  # login name, or the uid as digits
    group: str
    uid: int
    gid: int
    mode: str  # "drwxr-xr-x", with "+" when an ACL adds to it
    mode_bits: int  # st_mode & 0o7777
    acl: tuple[str, ...]  # getfacl-style entries when an ACL adds to the mode bits
    read: bool
    write: bool
    traverse: bool
    via: str  # what decided: "owner", "group", "ACL user entry", "other", "root", ...
    read_only_fs: bool = False
    error: str | None = None  # why the console itself could not look
    blocked_by: str | None = None  # a directory above that the user cannot enter
    own: str = "---"  # what the directory's own bits and ACL give, as "rwx"; the path aside
    group_writable: bool = False  # the owning group or a named group may write (ACL aware)
    problems: tuple[str, ...] = ()  # finding codes of this row (see perms_findings)
    # Write and enter granted by one entry together, as creating a file needs (see
    # ``Access.create``); None where it is not worked out (Windows rows).
    create: bool | None = None

    @property
    def needs_write(self) -> bool:
        return self.kind == "repository"

    @property
    def usable(self) -> bool:
        if not self.present or self.error:
            return False
        if self.kind == "ancestor":
            return self.traverse
        return self.read and self.write and self.traverse


@frozen
class PermsReport:
    location: ServerLocation
    user: ServerUser
    processes: tuple[ServerProcess, ...]
    rows: tuple[DirAccess, ...]  # ancestors first (from /), then the repository
    findings: tuple[Finding, ...]
    verdict: str  # one sentence: why all is well, or the worst problem
    deep: DeepResult | None = None
    platform: str = "posix"  # "posix" | "windows"
