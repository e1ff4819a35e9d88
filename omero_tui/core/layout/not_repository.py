"""What the repository is NOT: the server install, a client install, the PostgreSQL data.

None of these may be, contain, or sit inside the data dir or the managed dir. Each
one is found two ways: from where it is known to be (the configured server dir,
running ``postgres`` processes, users' ``~/omero``), and by its marker files on the
repository's own ancestors and top-level entries, which is how a stale install from
before an upgrade gets caught. Where PostgreSQL's data and the OMERO user dirs are
known to be is found in ``postgres_and_client_dirs``; this module judges the nesting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from omero_tui.core.discovery import ServerLocation, looks_like_server_dir
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.layout.known_dirs import (
    POSTGRES_NAMES,
    SERVER_USERS,
    find_client_dirs,
    find_postgres_data_dirs,
    postgres_dir_from_args,
    real_path,
)
from omero_tui.core.record import frozen

__all__ = [
    "CLIENT",
    "POSTGRES",
    "POSTGRES_NAMES",
    "SERVER",
    "SERVER_USERS",
    "USER_DIR",
    "check_not_repository",
    "client_install_kind",
    "find_client_dirs",
    "find_postgres_data_dirs",
    "postgres_dir_from_args",
]


@frozen
class _Kind:
    code: str
    why_inside: str  # why the repository must not be (inside) it
    why_contains: str  # why it must not be inside the repository
    inside: Severity
    contains: Severity


SERVER = _Kind(
    "layout.nested_server_dir",
    "an upgrade replaces or deletes that directory, and the repository with it",
    "moving or restoring the repository would drag the server software along with the data",
    Severity.CRITICAL,
    Severity.WARNING,
)
CLIENT = _Kind(
    "layout.nested_client_dir",
    "client downloads are replaced or deleted on upgrade, taking the repository with them",
    "it is moved, backed up and possibly cleared together with the repository",
    Severity.CRITICAL,
    Severity.WARNING,
)
USER_DIR = _Kind(
    "layout.nested_client_dir",
    "the omero CLI keeps sessions, logs and temporary files there, and clearing it would"
    " delete the repository",
    "the omero CLI's sessions, logs and temporary files would end up in the repository and"
    " its backups",
    Severity.WARNING,
    Severity.WARNING,
)
POSTGRES = _Kind(
    "layout.nested_postgres_dir",
    "PostgreSQL must own that directory alone, and restoring or moving either one would"
    " overwrite or corrupt the other",
    "a copy or chown of the repository would take a live database with it, which corrupts"
    " the copy and can stop PostgreSQL from starting",
    Severity.CRITICAL,
    Severity.CRITICAL,
)


@frozen
class _Other:
    kind: _Kind
    path: str  # real path
    what: str  # e.g. "the OMERO.server install dir (from OMERODIR)"


def check_not_repository(
    location: ServerLocation,
    *,
    postgres_dirs: Sequence[tuple[str, str]],
    client_dirs: Sequence[tuple[str, str]],
    data_children: Iterable[str] | None = None,
) -> list[Finding]:
    """Findings for the data dir and (when it is not inside it) the managed dir.

    ``data_children`` are names of the data dir's top-level directories, looked at for
    an install or a database cluster unpacked inside the repository.
    """
    data_dir = real_path(location.data_dir.value or "")
    roots = [("data dir", data_dir, list(data_children or ()))]
    managed = real_path(location.managed_dir.value or "")
    if managed and not _within(managed, data_dir):
        roots.append(("managed dir", managed, []))
    known = _known_others(location, postgres_dirs, client_dirs)
    best: dict[tuple[str, str, str], Finding] = {}
    for role, root, children in roots:
        if not root:
            continue
        others = known + _marked_around(root, children)
        for finding in _relations(role, root, others):
            key = (finding.code, finding.path or "", role)
            kept = best.get(key)
            if kept is None or finding.severity.rank > kept.severity.rank:
                best[key] = finding
    return list(best.values())


def _relations(role: str, root: str, others: Iterable[_Other]) -> Iterable[Finding]:
    for other in others:
        if _same(root, other.path):
            relation, severity, why = "is", other.kind.inside, other.kind.why_inside
        elif _within(root, other.path):
            relation, severity, why = "is inside", other.kind.inside, other.kind.why_inside
        elif _within(other.path, root) and os.path.isdir(other.path):
            relation, severity, why = "contains", other.kind.contains, other.kind.why_contains
        else:
            continue
        yield Finding(
            area="layout",
            severity=severity,
            code=other.kind.code,
            message=f"The {role} {relation} {other.what}, {other.path}: {why}.",
            path=other.path,
        )


def _known_others(
    location: ServerLocation,
    postgres_dirs: Sequence[tuple[str, str]],
    client_dirs: Sequence[tuple[str, str]],
) -> list[_Other]:
    others: list[_Other] = []
    if location.server_dir.value:
        what = f"the OMERO.server install dir ({location.server_dir.how})"
        others.append(_Other(SERVER, real_path(location.server_dir.value), what))
    for path, how in postgres_dirs:
        others.append(_Other(POSTGRES, real_path(path), f"the PostgreSQL data directory ({how})"))
    for path, how in client_dirs:
        real = real_path(path)
        install = client_install_kind(real)
        if install:
            others.append(_Other(CLIENT, real, f"{install} ({how})"))
        else:
            others.append(_Other(USER_DIR, real, how))
    return others


def _marked_around(root: str, children: Sequence[str]) -> list[_Other]:
    """Installs and clusters recognised by their marker files on root, its ancestors
    (below the filesystem root, where markers would make no sense) and its children.

    Children keep their path under root even when they are symlinks: a link to a
    database cluster inside the repository is just as much "contained" for a copy.
    """
    paths = [*_self_and_ancestors(root), *(os.path.join(root, name) for name in children)]
    others: list[_Other] = []
    for path in paths:
        try:
            if looks_like_server_dir(path):
                others.append(_Other(SERVER, path, "an OMERO.server install (it has etc/grid)"))
            install = client_install_kind(path)
            if install:
                others.append(_Other(CLIENT, path, install))
            if os.path.isfile(os.path.join(path, "PG_VERSION")):
                what = "a PostgreSQL data directory (it has PG_VERSION)"
                others.append(_Other(POSTGRES, path, what))
        except (OSError, ValueError):
            continue
    return others


def client_install_kind(path: str) -> str | None:
    """Describe ``path`` if it looks like an OMERO client install, else None."""

    def has(*parts: str) -> bool:
        return os.path.exists(os.path.join(path, *parts))

    try:
        if has("bin", "omero") and has("lib", "python", "omero") and not has("etc", "grid"):
            return "an OMERO.py client download"
        if has("bin", "omero") and has("pyvenv.cfg"):
            return "a Python virtual environment with the omero CLI"
        insight_markers = (("bin", "omero-insight"), ("OMEROinsight_unix.sh",))
        if any(has(*marker) for marker in insight_markers):
            return "an OMERO.insight install"
    except (OSError, ValueError):
        return None
    return None


def _self_and_ancestors(path: str) -> list[str]:
    out = []
    current = path
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return out
        out.append(current)
        current = parent


def _norm(path: str) -> str:
    return os.path.normcase(path).rstrip(os.sep) or os.sep


def _same(a: str, b: str) -> bool:
    return _norm(a) == _norm(b)


def _within(path: str, ancestor: str) -> bool:
    """path is strictly inside ancestor."""
    p, a = _norm(path), _norm(ancestor)
    return p != a and p.startswith(a.rstrip(os.sep) + os.sep)
