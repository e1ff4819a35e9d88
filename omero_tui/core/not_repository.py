"""What the repository is NOT: the server install, a client install, the PostgreSQL data.

None of these may be, contain, or sit inside the data dir or the managed dir. Each
one is found two ways: from where it is known to be (the configured server dir,
running ``postgres`` processes, users' ``~/omero``), and by its marker files on the
repository's own ancestors and top-level entries, which is how a stale install from
before an upgrade gets caught.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omero_tui.core.discovery import ServerLocation, looks_like_server_dir
from omero_tui.core.findings import Finding, Severity

# Accounts OMERO commonly runs under (the reference Ansible role uses omero-server).
SERVER_USERS: tuple[str, ...] = ("omero-server", "omero", "omero-web")
POSTGRES_NAMES = frozenset({"postgres", "postmaster", "postgres.exe"})


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class _Other:
    kind: _Kind
    path: str  # real path
    what: str  # e.g. "the OMERO.server install dir (from OMERODIR)"


def find_postgres_data_dirs(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """PostgreSQL data directories in use here: (dir, how it was found). Scans processes."""
    env = os.environ if env is None else env
    found: list[tuple[str, str]] = []
    if env.get("PGDATA"):
        pgdata = os.path.abspath(os.path.expanduser(env["PGDATA"]))
        found.append((pgdata, "from the PGDATA environment variable"))
    found.extend(_postgres_processes())
    return _unique(found)


def postgres_dir_from_args(args: Sequence[str]) -> str | None:
    """The data directory a postgres command line names; ``data_directory`` beats ``-D``.

    (With ``-c data_directory=`` set, ``-D`` only names where the configuration is.)
    """
    data_dir: str | None = None
    setting: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-D" and i + 1 < len(args):
            data_dir, i = args[i + 1], i + 1
        elif arg.startswith("-D") and len(arg) > 2:
            data_dir = arg[2:]
        elif arg == "-c" and i + 1 < len(args):
            setting = _data_directory_setting(args[i + 1]) or setting
            i += 1
        elif arg.startswith("--"):
            setting = _data_directory_setting(arg[2:]) or setting
        i += 1
    return setting or data_dir


def find_client_dirs(
    location: ServerLocation, env: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """OMERO user dirs (``~/omero``, or ``OMERO_USERDIR``) of the accounts likely to matter."""
    env = os.environ if env is None else env
    found: list[tuple[str, str]] = []
    if env.get("OMERO_USERDIR"):
        userdir = os.path.abspath(os.path.expanduser(env["OMERO_USERDIR"]))
        found.append((userdir, "the OMERO user dir (from OMERO_USERDIR)"))
    home = os.path.expanduser("~")
    if home != "~":
        found.append((os.path.join(home, "omero"), "the OMERO user dir of this console's user"))
    for user, home in _likely_server_accounts(location):
        found.append((os.path.join(home, "omero"), f"the OMERO user dir of {user}"))
    return _unique(found)


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
    data_dir = _real(location.data_dir.value or "")
    roots = [("data dir", data_dir, list(data_children or ()))]
    managed = _real(location.managed_dir.value or "")
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
        others.append(_Other(SERVER, _real(location.server_dir.value), what))
    for path, how in postgres_dirs:
        others.append(_Other(POSTGRES, _real(path), f"the PostgreSQL data directory ({how})"))
    for path, how in client_dirs:
        real = _real(path)
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


def _postgres_processes() -> list[tuple[str, str]]:
    try:
        import psutil
    except ImportError:
        return []
    found: list[tuple[str, str]] = []
    our_root = _root_identity("/")
    try:
        processes = list(psutil.process_iter(["pid", "name", "cmdline"]))
    except Exception:  # noqa: BLE001 - a failed scan just finds nothing
        return []
    for proc in processes:
        try:
            found.extend(_postgres_dir_of(proc, our_root))
        except Exception:  # noqa: BLE001 - processes vanish and deny access mid-scan
            continue
    return found


def _postgres_dir_of(proc: Any, our_root: tuple[int, int] | None) -> list[tuple[str, str]]:
    info = proc.info
    cmdline = info.get("cmdline") or []
    names = {info.get("name") or ""}
    if cmdline:
        names.add(os.path.basename(cmdline[0]))
    if not names & POSTGRES_NAMES:
        return []
    pid = info.get("pid")
    # A containerised postgres names paths inside its own root, not ours.
    if our_root is not None and _root_identity(f"/proc/{pid}/root") not in (None, our_root):
        return []
    data_dir = postgres_dir_from_args(cmdline[1:])
    how = f"postgres process {pid}"
    if data_dir is None:
        # Without -D postgres reads PGDATA from its own environment (readable by root).
        data_dir = proc.environ().get("PGDATA")
        how += ", PGDATA in its environment"
    if not data_dir:
        return []
    if not os.path.isabs(data_dir):
        data_dir = os.path.join(proc.cwd(), data_dir)
    return [(os.path.normpath(data_dir), how)]


def _data_directory_setting(assignment: str) -> str | None:
    name, sep, value = assignment.partition("=")
    if sep and name.replace("-", "_") == "data_directory":
        return value.strip("'\"") or None
    return None


def _root_identity(path: str) -> tuple[int, int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _likely_server_accounts(location: ServerLocation) -> list[tuple[str, str]]:
    """(user, home) for the usual OMERO accounts and the owners of the install and data."""
    try:
        import pwd
    except ImportError:  # Windows: no account database to ask
        return []
    entries = []
    for name in SERVER_USERS:
        try:
            entries.append(pwd.getpwnam(name))
        except KeyError:
            continue
    for path in (location.server_dir.value, location.data_dir.value):
        if not path:
            continue
        try:
            entries.append(pwd.getpwuid(os.stat(path).st_uid))
        except (OSError, KeyError):
            continue
    # Not pwd.getpwall(): on LDAP/SSSD sites it enumerates thousands of accounts, or hangs.
    return [(e.pw_name, e.pw_dir) for e in entries if e.pw_dir and e.pw_dir != "/"]


def _self_and_ancestors(path: str) -> list[str]:
    out = []
    current = path
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return out
        out.append(current)
        current = parent


def _unique(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for path, how in pairs:
        key = _real(path)
        if key not in seen:
            seen.add(key)
            out.append((path, how))
    return out


def _real(path: str) -> str:
    if not path:
        return ""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _norm(path: str) -> str:
    return os.path.normcase(path).rstrip(os.sep) or os.sep


def _same(a: str, b: str) -> bool:
    return _norm(a) == _norm(b)


def _within(path: str, ancestor: str) -> bool:
    """path is strictly inside ancestor."""
    p, a = _norm(path), _norm(ancestor)
    return p != a and p.startswith(a.rstrip(os.sep) + os.sep)
