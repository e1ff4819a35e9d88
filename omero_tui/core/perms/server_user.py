"""Who the server runs as: the user whose rights on the repository actually matter.

Sources, first that answers wins: the settings file (``[server] user``), the owner
of the running OMERO processes of this server dir, the ``User=`` of the systemd unit
that named the server (when discovery had to ask it), the owner of ``$OMERODIR/var``
(the server writes its logs there, so it is normally its own), then the user running
the console. The answer always says which source decided, so an admin can see why.

A running process is asked for its real credentials (``/proc/<pid>/status``) rather
than the user database: a user added to a group after the server started does not
have that group until the server is restarted, and the kernel checks what it has.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.perms.access import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, Identity
from omero_tui.core.record import field, frozen
from omero_tui.core.server.processes import ServerProcess, find_server_processes, role_rank
from omero_tui.core.server.running import repository_holders

try:
    import grp
    import pwd
except ImportError:  # Windows: names only, no uids
    grp = None  # type: ignore[assignment]
    pwd = None  # type: ignore[assignment]

_DAC_CAPS = (("CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE), ("CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH))
SOURCES = (
    "chosen", "settings", "processes", "unit", "var owner", "repository", "current user"
)  # fmt: skip


class UnknownUserError(LookupError):
    """A user name or uid this machine does not know; ``str(err)`` is one line."""


@frozen
class ServerUser:
    name: str  # login name, or "#1234" for a uid without a passwd entry
    uid: int
    gid: int  # primary group
    groups: tuple[int, ...]  # every group the kernel will check, primary first
    group_names: tuple[str, ...]
    source: str  # one of SOURCES
    how: str  # the reason in words, e.g. "owner of the running Blitz-0, pid 812"
    caps: int | None = None  # a running process's effective capabilities (CapEff)

    @property
    def identity(self) -> Identity:
        return Identity(self.uid, self.gid, frozenset(self.groups), self.caps)

    @property
    def primary_group(self) -> str:
        return self.group_names[0] if self.group_names else str(self.gid)


@frozen
class UserDecision:
    user: ServerUser
    processes: tuple[ServerProcess, ...]  # this server dir's live processes
    findings: tuple[Finding, ...] = field(default_factory=tuple)  # doubts about the answer


def lookup_user(name_or_uid: str, source: str = "chosen", how: str = "") -> ServerUser:
    """A user from the user database, with the groups ``initgroups`` would give it."""
    if pwd is None:
        raise UnknownUserError("users can only be looked up by uid on POSIX systems")
    try:
        entry = (
            pwd.getpwuid(int(name_or_uid)) if name_or_uid.isdigit() else pwd.getpwnam(name_or_uid)
        )
    except KeyError:
        raise UnknownUserError(f"no user {name_or_uid!r} on this machine") from None
    groups = _ordered(entry.pw_gid, os.getgrouplist(entry.pw_name, entry.pw_gid))
    return ServerUser(
        entry.pw_name,
        entry.pw_uid,
        entry.pw_gid,
        groups,
        group_names(groups),
        source,
        how or f"{entry.pw_name} was chosen",
    )


def user_of_process(proc: ServerProcess, how: str) -> ServerUser:
    """The credentials the process really holds; the user database when /proc is closed."""
    status = _proc_status(proc.pid)
    try:
        uid = int(status["Uid"].split()[1])
        gid = int(status["Gid"].split()[1])
        supplementary = [int(g) for g in status.get("Groups", "").split()]
    except (KeyError, IndexError, ValueError):
        if proc.username is None:
            return _numeric(proc.uid, "processes", how)
        return lookup_user(proc.username, "processes", how)
    try:
        caps: int | None = int(status["CapEff"], 16)
    except (KeyError, ValueError):
        caps = None
    groups = _ordered(gid, supplementary)
    name = proc.username or f"#{uid}"
    how += _caps_note(uid, caps)
    return ServerUser(name, uid, gid, groups, group_names(groups), "processes", how, caps)


def _caps_note(uid: int, caps: int | None) -> str:
    """Words for capabilities that make the process differ from what its uid suggests."""
    if caps is None:
        return ""
    held = [n for n, bit in _DAC_CAPS if caps >> bit & 1]
    if uid == 0 and len(held) < len(_DAC_CAPS):
        missing = [n for n, bit in _DAC_CAPS if not caps >> bit & 1]
        return f"; it runs without {' and '.join(missing)}, so the permissions bind it"
    if uid != 0 and held:
        return f"; it holds {' and '.join(held)}"
    return ""


def determine_server_user(
    location: ServerLocation,
    *,
    chosen: str | None = None,
    settings_user: str | None = None,
    settings_path: str | None = None,
    processes: Sequence[ServerProcess] | None = None,
) -> UserDecision:
    """The server user by the documented source order; ``chosen`` (``--user``) wins."""
    server_dir = location.server_dir.value
    if processes is None:
        processes = find_server_processes(server_dir) if server_dir else []
    procs = tuple(processes)
    notes: list[Finding] = []
    if chosen:
        how = f"{chosen} was chosen by the admin"
        return UserDecision(lookup_user(chosen, "chosen", how), procs)
    # The admin's settings name the real server's user, not the demo stand-in's.
    if settings_user and not location.demo:
        where = f" {settings_path}" if settings_path else ""
        try:
            how = f"server.user in the settings file{where}"
            named = lookup_user(str(settings_user), "settings", how)
            return UserDecision(named, procs, tuple(_running_as_other(named, procs)))
        except UnknownUserError:
            notes.append(
                Finding(
                    "permissions",
                    Severity.WARNING,
                    "perms.settings_user_unknown",
                    f"The settings file names the server user {settings_user!r}, which does not"
                    " exist here, so the check falls back to the next source and may judge"
                    " the wrong user.",
                    settings_path,
                )
            )
    if procs:
        return UserDecision(_from_processes(procs, notes), procs, tuple(notes))
    unit_user = _unit_user(location, notes)
    if unit_user is not None:
        return UserDecision(unit_user, procs, tuple(notes))
    if server_dir:
        var = Path(server_dir) / "var"
        try:
            owner = var.stat().st_uid
        except OSError:
            pass
        else:
            how = f"owner of {var}, as no server process is running"
            return UserDecision(_by_uid(owner, "var owner", how), procs, tuple(notes))
    repository = _by_repository(location.data_dir.value)
    if repository is not None:
        return UserDecision(repository, procs, tuple(notes))
    uid = os.getuid() if hasattr(os, "getuid") else -1
    why = (
        f"no server process runs, {server_dir}/var cannot be read and the repository's "
        "owner is not known here"
        if server_dir
        else "no server dir or process was found"
    )
    how = f"the user running this console, as {why}"
    return UserDecision(_by_uid(uid, "current user", how), procs, tuple(notes))


def _unit_user(location: ServerLocation, notes: list[Finding]) -> ServerUser | None:
    """The ``User=`` of the systemd unit that named the server: who it runs as once
    started, a better answer than the owner of ``var`` for a stopped server."""
    named = location.server_user
    if named is None or not named.value:
        return None
    how = f"User= of the unit that named the server ({named.how}), as no server process runs"
    try:
        return lookup_user(named.value, "unit", how)
    except UnknownUserError:
        notes.append(
            Finding(
                "permissions",
                Severity.WARNING,
                "perms.unit_user_unknown",
                f"The systemd unit runs the server as {named.value!r}, a user this machine "
                "does not know, so the check falls back to the next source and may judge "
                "the wrong user.",
            )
        )
        return None


def _by_repository(data_dir: str | None) -> ServerUser | None:
    """With no server dir (``--data-dir`` alone): the uid holding the repository's lock
    (the running server), else the data dir's owner; never the console's own user."""
    if not data_dir or not os.path.isabs(data_dir):
        return None
    holders = [h for h in repository_holders(data_dir) if h.uid is not None]
    if holders:
        held = holders[0]
        how = f"holder of the repository's lock {held.lock_path} ({held.describe()})"
        return _by_uid(held.uid, "repository", how)  # type: ignore[arg-type]
    try:
        owner = os.stat(data_dir).st_uid
    except OSError:
        return None
    how = f"owner of {data_dir}, as no server dir or process was found"
    return _by_uid(owner, "repository", how)


def _running_as_other(named: ServerUser, procs: tuple[ServerProcess, ...]) -> list[Finding]:
    """The settings name one user, the running server is another: the kernel checks the
    running one, so the admin must know the check may answer the wrong question."""
    others = sorted({f"{p.username or p.uid} ({p.role})" for p in procs if p.uid != named.uid})
    if not others:
        return []
    return [
        Finding(
            "permissions",
            Severity.WARNING,
            "perms.settings_user_not_running",
            f"The settings file names the server user {named.name}, but the running server"
            f" runs as {', '.join(others)}; the check judges {named.name}, while the"
            " kernel checks the running processes' user.",
        )
    ]


def _from_processes(procs: tuple[ServerProcess, ...], notes: list[Finding]) -> ServerUser:
    ranked = sorted(procs, key=lambda p: (role_rank(p.role), p.pid))
    speaker = ranked[0]
    uids = {p.uid for p in procs}
    if len(uids) > 1:
        names = ", ".join(sorted({f"{p.username or p.uid} ({p.role})" for p in procs}))
        notes.append(
            Finding(
                "permissions",
                Severity.WARNING,
                "perms.processes_mixed_users",
                f"The server's processes run as different users ({names}), so files one"
                " writes may be unreadable to another; the check uses the user of"
                f" {speaker.role}.",
            )
        )
    how = f"owner of the running {speaker.role}, pid {speaker.pid}"
    return user_of_process(speaker, how)


def _by_uid(uid: int, source: str, how: str) -> ServerUser:
    try:
        return lookup_user(str(uid), source, how)
    except UnknownUserError:
        return _numeric(uid, source, how)


def _numeric(uid: int, source: str, how: str) -> ServerUser:
    """A uid with no passwd entry (a container's user, a deleted account): no groups known."""
    return ServerUser(f"#{uid}", uid, -1, (), (), source, how)


def current_user_name() -> str:
    # Here, not at the top: getpass (and the termios it loads) serves only this rare
    # question (Windows, the fix's owner choices), not every permissions check.
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"#{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def group_names(gids: Sequence[int]) -> tuple[str, ...]:
    names = []
    for gid in gids:
        try:
            names.append(grp.getgrgid(gid).gr_name if grp else str(gid))
        except KeyError:
            names.append(str(gid))
    return tuple(names)


MAX_CANDIDATES = 20


def candidate_users(extra_uids: Sequence[int] = ()) -> list[str]:
    """Users an admin is likely to pick: OMERO-looking accounts first, then the local
    accounts of people and services (uid 1000 and up), then the given owners."""
    if pwd is None:
        return []
    omero, regular = [], []
    for entry in pwd.getpwall():
        if "omero" in entry.pw_name.lower() or entry.pw_uid in extra_uids:
            omero.append(entry.pw_name)
        elif 1000 <= entry.pw_uid < 65534:
            regular.append(entry.pw_name)
    return list(dict.fromkeys(sorted(omero) + sorted(regular)))[:MAX_CANDIDATES]


def _ordered(primary: int, groups: Sequence[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys([primary, *groups]))


def _proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields
