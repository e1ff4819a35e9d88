"""Where the PostgreSQL data and the OMERO user dirs are known to be on this host.

PostgreSQL data directories come from ``PGDATA`` and from the command lines (or
environments) of running ``postgres`` processes; OMERO user dirs are ``~/omero`` of
this console's user and of the accounts OMERO usually runs under, or ``OMERO_USERDIR``.
``not_repository`` then checks that the repository is none of them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.server.processes import live_views

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

# Accounts OMERO commonly runs under (the reference Ansible role uses omero-server).
SERVER_USERS: tuple[str, ...] = ("omero-server", "omero", "omero-web")
POSTGRES_NAMES = frozenset({"postgres", "postmaster", "postgres.exe"})


def find_postgres_data_dirs(
    env: Mapping[str, str] | None = None, processes: Iterable[Any] | None = None
) -> list[tuple[str, str]]:
    """PostgreSQL data directories in use here: (dir, how it was found). Scans processes
    (``processes``: psutil-like ones to judge instead of this host's)."""
    env = os.environ if env is None else env
    found: list[tuple[str, str]] = []
    if env.get("PGDATA"):
        pgdata = os.path.abspath(os.path.expanduser(env["PGDATA"]))
        found.append((pgdata, "from the PGDATA environment variable"))
    found.extend(_postgres_processes(processes))
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


def _postgres_processes(processes: Iterable[Any] | None) -> list[tuple[str, str]]:
    our_root = _root_identity("/")
    found: list[tuple[str, str]] = []
    try:
        # Straight from /proc (no psutil): names and command lines of every process,
        # the environment and working dir of the few that are postgres.
        for proc in live_views(_is_postgres) if processes is None else processes:
            try:
                found.extend(_postgres_dir_of(proc, our_root))
            except Exception:  # noqa: BLE001 - processes vanish and deny access mid-scan
                continue
    except Exception:  # noqa: BLE001 - a failed scan just finds nothing
        return []
    return found


def _is_postgres(pid: int, name: str, cmdline: Sequence[str]) -> bool:
    names = {name, os.path.basename(cmdline[0])} if cmdline else {name}
    return bool(names & POSTGRES_NAMES)


def _postgres_dir_of(proc: Any, our_root: tuple[int, int] | None) -> list[tuple[str, str]]:
    cmdline = proc.cmdline() or []
    pid = proc.pid
    if not _is_postgres(pid, proc.name() or "", cmdline):
        return []
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


def _unique(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for path, how in pairs:
        key = real_path(path)
        if key not in seen:
            seen.add(key)
            out.append((path, how))
    return out


def real_path(path: str) -> str:
    """The resolved path ("" for ""), or the absolute one where it cannot be resolved."""
    if not path:
        return ""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)
