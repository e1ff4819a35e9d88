"""The running server as its processes show it, for when nothing else names it.

A hand install keeps OMERODIR in the server user's own ``settings.env`` and the CLI in a
venv, so a root shell knows neither. The running server does: ``icegridnode`` and the
IceGrid servers (``Blitz-0``...) carry the server dir in their arguments and have it as
their working directory, they run as the server user, and Blitz-0 holds
``.omero/repository/<uuid>/.lock`` open (and locked) in the repository.

Also here: who holds a repository's lock, and whether that process lives in another PID
namespace (a containerised server seen from the host).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from omero_tui.core.discovery import RunningServerHint, looks_like_server_dir
from omero_tui.core.record import frozen
from omero_tui.core.server.processes import (
    live_processes,
    psutil_error,
    read_process,
    role_of,
    role_rank,
)

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    import psutil

LOCK_PARTS = (".omero", "repository")


@frozen
class Seen:
    pid: int
    role: str
    uid: int
    username: str | None
    server_dir: str | None
    repositories: tuple[str, ...]  # dirs whose .omero/repository/*/.lock it holds open


@frozen
class RepositoryHolder:
    lock_path: str
    pid: int
    process: str
    uid: int | None
    other_namespace: bool  # in another PID namespace than this console: a container

    def describe(self) -> str:
        user = f"uid {self.uid}" if self.uid is not None else "an unknown user"
        where = ", in another PID namespace (a container)" if self.other_namespace else ""
        return f"{self.process or 'a process'} (pid {self.pid}, {user}{where})"


def find_running_server(
    processes: Iterable[psutil.Process] | None = None,
) -> RunningServerHint | None:
    """Server dir, data dir and user from the live server processes; None if none run."""
    seen = [s for s in (_look(p) for p in _processes(processes)) if s is not None]
    if not seen:
        return None
    seen.sort(key=lambda s: (role_rank(s.role), s.pid))
    with_dir = next((s for s in seen if s.server_dir), None)
    holder = next((s for s in seen if s.repositories), None)
    speaker = with_dir or seen[0]
    user = speaker.username or f"uid {speaker.uid}"
    how = f"from the running {speaker.role} (pid {speaker.pid}, user {user})"
    others = sorted({s.server_dir for s in seen if s.server_dir} - {speaker.server_dir})
    if others:  # more than one install runs here: the admin must choose, not us
        how += f"; other servers run too ({', '.join(others)}): give --server-dir to choose"
    data_dir = data_how = None
    if holder is not None:
        data_dir = _outermost(holder.repositories)
        data_how = (
            f"held open by the running {holder.role} (pid {holder.pid}): "
            f"{data_dir}/.omero/repository/<uuid>/.lock"
        )
    return RunningServerHint(
        speaker.server_dir if with_dir else None, data_dir, how, data_how or ""
    )


def _processes(processes: Iterable[psutil.Process] | None) -> Iterable[psutil.Process]:
    if processes is not None:
        return processes
    return live_processes(lambda pid, name, cmdline: role_of(name, cmdline) is not None)


def _look(proc: psutil.Process) -> Seen | None:
    if proc.pid == os.getpid():
        return None
    seen = read_process(proc)
    if seen is None:
        return None
    cmdline, name, uid = seen
    role = role_of(name, cmdline)
    if role is None:
        return None
    try:
        cwd: str | None = proc.cwd()
    except psutil_error():
        cwd = None
    username = _username(uid)
    return Seen(proc.pid, role, uid, username, _server_dir(cmdline, cwd), _held_repos(proc))


def _username(uid: int) -> str | None:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return None


def _server_dir(cmdline: tuple[str, ...], cwd: str | None) -> str | None:
    """The first install dir (it has etc/grid) above a path argument, then the cwd."""
    paths = [v for arg in cmdline[1:] for v in arg.split("=", 1)[-1].split(",")]
    return server_dir_above([*paths, *([cwd] if cwd else [])])


def server_dir_above(paths: Iterable[str]) -> str | None:
    """The first install dir (it has etc/grid) at or above one of ``paths``, in order."""
    for path in paths:
        if not os.path.isabs(path):
            continue
        current = os.path.normpath(path)
        while True:
            if looks_like_server_dir(current):
                return current
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return None


def _held_repos(proc: psutil.Process) -> tuple[str, ...]:
    try:
        files = proc.open_files()
    except (psutil_error(), OSError):
        return ()
    found = []
    for handle in files:
        root = repository_of_lock(handle.path)
        if root is not None:
            found.append(root)
    return tuple(dict.fromkeys(found))


def repository_of_lock(path: str) -> str | None:
    """``<repo>`` for ``<repo>/.omero/repository/<uuid>/.lock``, else None."""
    parts = Path(path).parts
    if len(parts) < 5 or parts[-1] != ".lock" or tuple(parts[-4:-2]) != LOCK_PARTS:
        return None
    return str(Path(*parts[:-4]))


def _outermost(roots: Iterable[str]) -> str:
    """The data dir, when the managed dir inside it holds its own lock too."""
    ordered = sorted(roots, key=len)
    return ordered[0]


def repository_holders(repo_dir: str, proc_locks: str | None = None) -> list[RepositoryHolder]:
    """Processes holding a lock on ``repo_dir``'s ``.omero/repository/*/.lock``."""
    base = Path(repo_dir).joinpath(*LOCK_PARTS)
    try:
        uuids = sorted(e.name for e in os.scandir(base) if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    if not uuids:  # most dirs: no repository, so no need to read the slow /proc/locks
        return []
    from omero_tui.core.locks.files import PROC_LOCKS, parse_proc_locks

    try:
        locks_text = Path(proc_locks or PROC_LOCKS).read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    locks = [lk for lk in parse_proc_locks(locks_text) if not lk.blocked and lk.pid > 0]
    found = []
    for uuid in uuids:
        lock = base / uuid / ".lock"
        try:
            st = os.stat(lock)
        except OSError:
            continue
        device = (os.major(st.st_dev), os.minor(st.st_dev))
        for held in locks:
            if held.inode == st.st_ino and held.device == device:
                found.append(_holder(str(lock), held.pid))
    return found


def _holder(lock: str, pid: int) -> RepositoryHolder:
    import psutil

    try:
        proc = psutil.Process(pid)
        name, uid = proc.name(), proc.uids().effective
    except psutil.Error:
        name, uid = "", None
    return RepositoryHolder(lock, pid, name, uid, in_other_pid_namespace(pid))


def in_other_pid_namespace(pid: int) -> bool:
    """True when ``pid`` lives in another PID namespace than this console (Linux)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    except OSError:
        return False
