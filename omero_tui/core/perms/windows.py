"""The permission rows on Windows, from ``icacls`` listings instead of mode bits and ACLs.

Windows gives every account "bypass traverse checking" by default, so the folders
above the repository need no rights of their own: only the repository's folders are
rows. The server's account is named by the admin (``--user``, the picker, or the
settings file): a Windows service account is not found through a process owner here.
"""

from __future__ import annotations

import ntpath
import subprocess
from collections.abc import Callable, Sequence

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.perms.findings import row_findings, row_problems, summary_findings
from omero_tui.core.perms.icacls import EVERYONE, IcaclsFormatError, parse_icacls, windows_access
from omero_tui.core.perms.model import USED_SUBDIRS, DirAccess, PermsReport
from omero_tui.core.perms.server_user import ServerUser
from omero_tui.core.record import replace


def run_icacls(path: str) -> str:
    result = subprocess.run(
        ["icacls", path],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return result.stdout


def windows_user(name: str, source: str, how: str) -> ServerUser:
    return ServerUser(name, -1, -1, (), (), source, how)


def check_permissions_windows(
    location: ServerLocation,
    user: ServerUser,
    *,
    principals: Sequence[str] | None = None,
    run: Callable[[str], str] = run_icacls,
) -> PermsReport:
    """Rows for the data dir, its subfolders and the managed dir, judged from icacls."""
    names = tuple(principals) if principals is not None else (user.name, *EVERYONE)
    data = location.data_dir.value or r"C:\OMERO"
    paths = [("data dir", data)] + [(n, ntpath.join(data, n)) for n in USED_SUBDIRS]
    managed = location.managed_dir.value
    if managed and ntpath.normcase(managed) != ntpath.normcase(
        ntpath.join(data, "ManagedRepository")
    ):
        paths.append(("managed dir", managed))
    rows = []
    for label, path in paths:
        row = _row(label, path, names, run)
        if row is not None or label in ("data dir", "managed dir"):
            rows.append(row or _missing(label, path))
    # No setgid on Windows: no row is "the managed dir" for that check.
    judged = tuple(replace(r, problems=row_problems(r, user, "")) for r in rows)
    findings = row_findings(judged, user)
    verdict, closing = summary_findings(judged, user, findings, None)
    return PermsReport(
        location=location,
        user=user,
        processes=(),
        rows=judged,
        findings=tuple([*findings, *closing]),
        verdict=verdict,
        platform="windows",
    )


def _row(
    label: str, path: str, principals: Sequence[str], run: Callable[[str], str]
) -> DirAccess | None:
    try:
        blocks = parse_icacls(run(path), known_paths=[path])
    except (IcaclsFormatError, OSError, subprocess.SubprocessError):
        return None
    block = next((b for b in blocks if ntpath.normcase(b.path) == ntpath.normcase(path)), None)
    if block is None:
        return None
    access = windows_access(block.aces, principals)
    own = "".join(
        c if ok else "-"
        for c, ok in (("r", access.read), ("w", access.write), ("x", access.traverse))
    )
    return DirAccess(
        label=label,
        path=path,
        kind="repository",
        present=True,
        owner="-",
        group="-",
        uid=-1,
        gid=-1,
        mode="-",
        mode_bits=0,
        acl=tuple(a.text.strip() for a in block.aces),
        read=access.read,
        write=access.write,
        traverse=access.traverse,
        via=access.via,
        own=own,
    )


def _missing(label: str, path: str) -> DirAccess:
    return DirAccess(
        label, path, "repository", False, "-", "-", -1, -1, "-", 0, (), False, False, False, "-",
        error="icacls could not list it",
    )  # fmt: skip
