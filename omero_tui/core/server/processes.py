"""The running processes of one OMERO.server install, found through /proc and psutil.

A process counts only when it both plays a known server role (icegridnode, an IceGrid
server such as Blitz-0 or Tables-0, the Glacier2 router, the pid in
``var/master/master.pid``, or the demo stand-in) and points at this server dir (an
argument under it, or its working directory). A ``tail -f var/log/Blitz-0.log`` or an
editor on ``config.xml`` mentions the server dir too, but is not the server: taking
its owner for the server user would give the admin a wrong answer.

Used to name the server's user and, later, to prove a server is stopped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from omero_tui.core.record import frozen
from omero_tui.core.server.proc_look import proc_file, proc_pids

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    import psutil

MASTER_PID = ("var", "master", "master.pid")
DEMO_STANDIN_MODULE = "omero_tui.core.demo.standin_server"

# IceGrid starts every server with --Ice.Config=<node data>/servers/<id>/config/config.
_ICE_SERVER_CONFIG = re.compile(r"servers[/\\](?P<id>[^/\\]+)[/\\]config[/\\]config$")
_OMERO_NAME = re.compile(r"^-Domero\.name=(?P<id>\S+)$")
# Server ids OMERO's templates.xml defines, and the scripts its Python servers run.
KNOWN_SERVERS = (
    "Blitz",
    "Indexer",
    "PixelData",
    "Repository",
    "Processor",
    "Tables",
    "DropBox",
    "MonitorServer",
    "FileServer",
    "Glacier2",
    "TestDropBox",
)
_SCRIPTS = {
    "runProcessor.py": "Processor",
    "runTables.py": "Tables",
    "fsDropBox.py": "DropBox",
    "fsMonitorServer.py": "MonitorServer",
    "fsFileServer.py": "FileServer",
}
# The order in which a role speaks for the server's user: Blitz writes the repository.
ROLE_PRIORITY = ("Blitz", "PixelData", "Indexer", "icegridnode", "master.pid", "demo stand-in")


@frozen
class ServerProcess:
    pid: int
    name: str  # process name as the kernel knows it, e.g. "java", "icegridnode"
    role: str  # "icegridnode", "Blitz-0", "Tables-0", "master.pid", "demo stand-in", ...
    username: str | None  # of the effective uid; None when it has no passwd entry
    uid: int  # effective uid: what the kernel checks file access with
    cmdline: tuple[str, ...]


def find_server_processes(
    server_dir: str | os.PathLike[str],
    *,
    processes: Iterable[psutil.Process] | None = None,
) -> list[ServerProcess]:
    """Live processes of the server installed at ``server_dir``, ordered by pid."""
    roots = _spellings(server_dir)
    master = _master_pid(Path(server_dir))
    if processes is None:
        processes = live_processes(
            lambda pid, name, cmdline: (
                _role(name, cmdline, roots, pid == master) is not None
                or DEMO_STANDIN_MODULE in cmdline
            )
        )
    found = []
    for proc in processes:
        if proc.pid == os.getpid():
            continue
        item = _classify(proc, roots, master)
        if item is not None:
            found.append(item)
    return sorted(found, key=lambda p: p.pid)


def role_of(name: str, cmdline: tuple[str, ...]) -> str | None:
    """The server role a process plays, whatever server dir it belongs to (None if none)."""
    return _role(name, cmdline, (), False)


def role_rank(role: str) -> int:
    """Lower speaks first for the server's user (see ROLE_PRIORITY)."""
    for index, prefix in enumerate(ROLE_PRIORITY):
        if role == prefix or role.startswith(prefix + "-"):
            return index
    return len(ROLE_PRIORITY)


def live_processes(keep: Callable[[int, str, tuple[str, ...]], bool]) -> Iterator[psutil.Process]:
    """The live processes that ``keep(pid, name, command line)`` accepts.

    Every command pays for this scan while locating its server, so on Linux the names
    and command lines are read straight from /proc, and psutil (its import, and its
    reads of each process) is used only for the few that ``keep`` accepts. Elsewhere
    (no /proc) psutil sees every process; its callers judge them again in any case.
    """
    found = _kept_on_proc(keep)
    if found is None:
        import psutil

        yield from psutil.process_iter()
        return
    for pid, _seen in found:
        import psutil

        try:
            yield psutil.Process(pid)
        except psutil.Error:  # gone since its /proc entry was read
            continue


def _kept_on_proc(
    keep: Callable[[int, str, tuple[str, ...]], bool],
) -> Iterator[tuple[int, tuple[str, tuple[str, ...]]]] | None:
    """(pid, (name, command line)) of each process in /proc that ``keep`` accepts, read
    as it goes; None where there is no /proc."""
    try:
        pids = proc_pids()  # shared with the rest of the check when it has a look open
    except OSError:
        return None

    def kept() -> Iterator[tuple[int, tuple[str, tuple[str, ...]]]]:
        for pid in pids:
            seen = _proc_name_and_cmdline(pid)
            if seen is not None and keep(pid, *seen):
                yield pid, seen

    return kept()


class ProcView:
    """A live process read straight from /proc: the part of ``psutil.Process`` that a
    search for a few named processes needs (``pid``, ``name``, ``cmdline``, ``environ``,
    ``cwd``), read as psutil reads them, without psutil's import (some 15 ms a run).
    A process gone or not ours to read raises OSError."""

    def __init__(self, pid: int, name: str, cmdline: tuple[str, ...]) -> None:
        self.pid = pid
        self._name = name
        self._cmdline = cmdline

    def name(self) -> str:
        return self._name

    def cmdline(self) -> list[str]:
        return list(self._cmdline)

    def environ(self) -> dict[str, str]:
        with open(f"/proc/{self.pid}/environ", "rb") as handle:
            data = os.fsdecode(handle.read())
        found: dict[str, str] = {}
        pos = 0
        while True:  # psutil's parse: it stops at an empty entry, skips ones without "="
            end = data.find("\0", pos)
            if end <= pos:
                return found
            equal = data.find("=", pos, end)
            if equal > pos:
                found[data[pos:equal]] = data[equal + 1 : end]
            pos = end + 1

    def cwd(self) -> str:
        path = os.readlink(f"/proc/{self.pid}/cwd").split("\0")[0]
        if path.endswith(" (deleted)") and not os.path.lexists(path):
            path = path[: -len(" (deleted)")]
        return path


def live_views(keep: Callable[[int, str, tuple[str, ...]], bool]) -> Iterator[ProcView]:
    """``live_processes`` for callers that need only a ``ProcView``'s part: on Linux
    from /proc alone (no psutil); elsewhere psutil's processes, which have that part."""
    found = _kept_on_proc(keep)
    if found is None:
        yield from live_processes(keep)  # type: ignore[misc]
        return
    for pid, seen in found:
        yield ProcView(pid, *seen)


def _proc_name_and_cmdline(pid: int) -> tuple[str, tuple[str, ...]] | None:
    """Name and command line as psutil would give them (None for a vanished process)."""
    try:
        raw = proc_file(pid, "cmdline")
        comm = proc_file(pid, "comm").rstrip(b"\n")
    except OSError:
        return None
    raw = raw[:-1] if raw.endswith(b"\0") else raw
    parts = raw.split(b"\0")
    if len(parts) == 1 and b" " in raw:  # a process that rewrote its argv as one string
        parts = raw.split(b" ")
    cmdline = tuple(os.fsdecode(part) for part in parts if part)
    name = os.fsdecode(comm)
    # The kernel keeps 15 bytes of the name; psutil completes it from argv[0].
    if len(comm) == 15 and cmdline and os.path.basename(cmdline[0]).startswith(name):
        name = os.path.basename(cmdline[0])
    return name, cmdline


def read_process(proc: psutil.Process) -> tuple[tuple[str, ...], str, int] | None:
    """(command line, name, effective uid) of a live process; None for a zombie or one
    that vanished or cannot be read."""
    import psutil

    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return tuple(proc.cmdline()), proc.name(), proc.uids().effective
    except psutil.Error:
        return None


def _classify(
    proc: psutil.Process, roots: tuple[str, ...], master: int | None
) -> ServerProcess | None:
    seen = read_process(proc)
    if seen is None:
        return None
    cmdline, name, uid = seen
    role = _role(name, cmdline, roots, proc.pid == master)
    if role is None:
        return None
    # Even the master.pid process must point here: after a reboot the pid may be reused.
    if not _points_at(proc, cmdline, roots):
        return None
    return ServerProcess(proc.pid, name, role, _username(uid), uid, cmdline)


def _role(
    name: str, cmdline: tuple[str, ...], roots: tuple[str, ...], is_master: bool
) -> str | None:
    argv0 = os.path.basename(cmdline[0]) if cmdline else ""
    if "icegridnode" in (name, argv0):
        return "icegridnode"
    if "glacier2router" in (name, argv0):
        return "Glacier2"
    if DEMO_STANDIN_MODULE in cmdline and _standin_of(cmdline, roots):
        return "demo stand-in"
    for arg in cmdline:
        server_id = _server_id(arg)
        if server_id is not None:
            return server_id
    for arg in cmdline:
        script = _SCRIPTS.get(os.path.basename(arg))
        if script is not None:
            return script
    return "master.pid" if is_master else None


def _server_id(arg: str) -> str | None:
    match = _ICE_SERVER_CONFIG.search(arg.split("=", 1)[-1]) or _OMERO_NAME.match(arg)
    if match is None:
        return None
    server_id = match.group("id")
    base = server_id.split("-", 1)[0]
    return server_id if base in KNOWN_SERVERS else None


def _standin_of(cmdline: tuple[str, ...], roots: tuple[str, ...]) -> bool:
    if "--server-dir" not in cmdline:
        return False
    given = cmdline[cmdline.index("--server-dir") + 1 :][:1]
    return bool(given) and _realpath(given[0]) in roots


def _points_at(proc: psutil.Process, cmdline: tuple[str, ...], roots: tuple[str, ...]) -> bool:
    for arg in cmdline:
        for value in arg.split("=", 1)[-1].split(","):  # --Ice.Config=a.cfg,b.cfg
            if any(_is_under(value, root) for root in roots):
                return True
    try:
        cwd = proc.cwd()  # IceGrid starts its servers with pwd=OMERO_HOME
    except psutil_error():
        return False
    return any(_is_under(cwd, root) for root in roots)


def psutil_error() -> type[Exception]:
    """psutil's base error, imported when a process is really examined."""
    import psutil

    return psutil.Error


def _is_under(path: str, root: str) -> bool:
    if not os.path.isabs(path):
        return False
    norm = os.path.normpath(path)
    return norm == root or norm.startswith(root.rstrip(os.sep) + os.sep)


def _spellings(server_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """The server dir as given and as resolved: a symlinked install is named either way."""
    given = os.path.normpath(os.path.abspath(server_dir))
    return tuple(dict.fromkeys((given, _realpath(given))))


def _master_pid(server_dir: Path) -> int | None:
    try:
        return int(server_dir.joinpath(*MASTER_PID).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _realpath(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _username(uid: int) -> str | None:
    try:
        import pwd
    except ImportError:  # Windows
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def server_environments(
    server_dir: str | os.PathLike[str] | None,
) -> list[tuple[str, dict[str, str]]]:
    """(who, environment) of each running server process we may read: what a Docker
    image's ``CONFIG_*`` variables were when the server started."""
    if not server_dir:
        return []
    found = []
    for proc in find_server_processes(server_dir):
        # Here, for a running server only: a stopped one (and the check of one) needs
        # no psutil, whose import costs some 10 ms.
        import psutil

        try:
            environ = psutil.Process(proc.pid).environ()
        except psutil.Error:
            continue
        found.append((f"the environment of {proc.role} (pid {proc.pid})", environ))
    return found
