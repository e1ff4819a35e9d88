"""Proof that the server is stopped, and that it came back up on the new location.

"Stopped" needs three witnesses: the controller's status says so, no process of the
server dir is alive (icegridnode, Blitz-0, the Python servers, ``master.pid``), and no
process at all has a file open or mapped under the repository. A status alone is not
enough: an OMERO started by hand next to its systemd unit, or a leftover Indexer, would
go on writing into the source while it is copied.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

import psutil

from omero_tui.core.locks.files import inspect_lock_files
from omero_tui.core.record import frozen
from omero_tui.core.server.control import ServerController
from omero_tui.core.server.processes import ServerProcess, find_server_processes

MOVED_MARKER = "Data directory moved"


@frozen
class OpenFile:
    pid: int
    process: str
    path: str
    how: str  # "open" | "mapped"


@frozen
class StopProof:
    stopped: bool
    status: bool | None  # the controller's answer: True running, None unknown
    processes: tuple[ServerProcess, ...]
    open_files: tuple[OpenFile, ...]
    reason: str  # one line: why it counts as stopped, or what is still running


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def files_open_under(
    directories: Sequence[str], *, exclude_pids: Sequence[int] = ()
) -> list[OpenFile]:
    """Every file some process has open or memory-mapped below ``directories``."""
    roots = sorted({os.path.realpath(d) for d in directories if d})
    skip = {os.getpid(), *exclude_pids}
    found: list[OpenFile] = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid in skip:
            continue
        name = proc.info.get("name") or ""
        try:
            for item in proc.open_files():
                if _under(item.path, roots):
                    found.append(OpenFile(proc.pid, name, item.path, "open"))
        except psutil.Error:
            pass
        for path in _mapped_files(proc.pid):
            if _under(path, roots):
                found.append(OpenFile(proc.pid, name, path, "mapped"))
    return sorted(set(found), key=lambda f: (f.pid, f.path))


def _mapped_files(pid: int) -> set[str]:
    """Paths in /proc/<pid>/maps (Lucene maps its index files; their fds may be closed)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as maps:
            return {
                line.split(None, 5)[5].rstrip("\n").removesuffix(" (deleted)")
                for line in maps
                if line.count(" ") >= 5 and "/" in line
            }
    except (OSError, IndexError):
        return set()


def prove_stopped(
    controller: ServerController,
    server_dir: str | None,
    directories: Sequence[str],
    *,
    status: bool | None | str = "ask",
) -> StopProof:
    """``status``: the controller's answer if it was just asked ("ask": ask it now)."""
    if status == "ask":
        status = controller.status()
    processes = tuple(find_server_processes(server_dir)) if server_dir else ()
    open_files = tuple(files_open_under(directories))
    if status:
        reason = f"{controller.describe()} reports the server running"
    elif processes:
        shown = ", ".join(f"{p.role} (pid {p.pid})" for p in processes[:3])
        reason = f"server processes are still alive: {shown}"
    elif open_files:
        first = open_files[0]
        more = f" and {len(open_files) - 1} more" if len(open_files) > 1 else ""
        reason = f"{first.process} (pid {first.pid}) has {first.path} {first.how}{more}"
    else:
        said = "says stopped" if status is False else "cannot tell"
        reason = (
            f"status {said}, no server process is alive and no process has a file "
            "open under the repository"
        )
    stopped = not status and not processes and not open_files
    return StopProof(stopped, status, processes, open_files, reason)


def wait_until_stopped(
    controller: ServerController,
    server_dir: str | None,
    directories: Sequence[str],
    timeout: float,
    cancel: threading.Event | None = None,
    poll: float = 0.5,
) -> StopProof:
    """Poll the proof (processes take a moment to exit after `admin stop` returns)."""
    deadline = time.monotonic() + timeout
    while True:
        proof = prove_stopped(controller, server_dir, directories)
        if proof.stopped or time.monotonic() >= deadline:
            return proof
        if cancel is not None and cancel.wait(poll):
            return proof
        if cancel is None:
            time.sleep(poll)


def wait_until_running(
    controller: ServerController,
    server_dir: str | None,
    timeout: float,
    cancel: threading.Event | None = None,
    poll: float = 0.5,
) -> bool:
    """True once the status says running (or, without a status, a server process runs)."""
    deadline = time.monotonic() + timeout
    while True:
        status = controller.status()
        if status is None and server_dir:
            status = bool(find_server_processes(server_dir))
        if status:
            return True
        if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
            return False
        time.sleep(poll)


def log_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def find_moved_line(path: str, offset: int, new_location: str) -> str | None:
    """OMERO's WARN "Data directory moved: OLD updated to NEW" written since ``offset``."""
    try:
        with open(path, "rb") as log:
            if os.path.getsize(path) >= offset:
                log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if MOVED_MARKER in line and new_location.rstrip(os.sep) in line:
            return line.strip()
    return None


@frozen
class RunningOn:
    ok: bool
    reason: str  # one line


def running_on(
    moved_to: str,
    data_dir: str,
    managed_dir: str,
    old_dirs: Sequence[str],
    *,
    open_files: Callable[[Sequence[str]], list[OpenFile]] = files_open_under,
) -> RunningOn:
    """Whether the running server uses ``moved_to`` and has let go of the old location.

    Evidence of use: a repository lock (``.omero/repository/*/.lock``) held under
    ``moved_to``, or a server file open there. ``data_dir`` and ``managed_dir`` are where
    config.xml now says the repositories are (the lock files are looked for there).
    """
    report = inspect_lock_files(data_dir, managed_dir, pyramid_budget=0)
    new_roots = [os.path.realpath(moved_to)]
    held = [
        f
        for f in report.files
        if f.kind == "repository"
        and f.state in ("held", "open")
        and _under(os.path.realpath(f.path), new_roots)
    ]
    # One look at every process serves both questions.
    old_roots = [os.path.realpath(d) for d in old_dirs if d]
    users = open_files([*new_roots, *old_roots])
    old_users = [f for f in users if _under(f.path, old_roots)]
    in_use = held or [f for f in users if _under(f.path, new_roots)]
    if old_users:
        first = old_users[0]
        return RunningOn(
            False,
            f"{first.process} (pid {first.pid}) still has {first.path} {first.how} "
            "in the old location",
        )
    if not in_use:
        return RunningOn(
            False, f"no server process holds a repository lock or a file in {moved_to}"
        )
    how = "its repository lock" if held else "files open"
    return RunningOn(True, f"the server holds {how} in {moved_to}")
