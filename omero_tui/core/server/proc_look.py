"""One look at the process table per area's check, instead of one per question.

Within one area's check several parts list every process: the Layout area asks whether
the server is a container's main process (``container``), which PostgreSQL data dirs
are in use (``layout.known_dirs``) and what the server's environment holds (the
configuration sources); the server and permissions areas ask for the server's
processes. Each read every ``/proc/<pid>/cmdline`` (and ``comm``) for itself: on a host
with a few hundred processes, a thousand small files read again and again in one check.

Inside a ``ProcLook`` block (``health.guard`` runs each area's check in one, and
``inspect_layout`` opens one too) the first of them reads what it needs and the others
reuse it. Outside one, every read goes to /proc as it always did. The look lasts only
as long as its ``with`` block and lives only in the thread that opened it (a context
variable): a later check, or one running meanwhile in another of the console's threads,
never sees it, so a process started or gone since is always seen as it is. Its owners
are the ones who write the findings: they read the table once and say what it showed.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

PROC = "/proc"


class _Look:
    """What one look read: the pid list and each file asked for (None: it could not be
    read, and the OSError is raised again to the next caller)."""

    def __init__(self) -> None:
        self.pids: list[int] | None = None
        self.files: dict[tuple[int, str], bytes | None] = {}


_current: ContextVar[_Look | None] = ContextVar("omero_tui_proc_look", default=None)


class ProcLook:
    """``with ProcLook():`` every /proc read inside shares one look; nested blocks share
    the outermost one."""

    def __enter__(self) -> ProcLook:
        self._token = _current.set(_Look()) if _current.get() is None else None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)


def proc_pids(proc: str = PROC) -> list[int]:
    """The pids in ``proc`` in directory order; OSError where there is no such dir."""
    look = _current.get() if proc == PROC else None
    if look is None:
        return _list_pids(proc)
    if look.pids is None:
        look.pids = _list_pids(proc)
    return list(look.pids)


def proc_file(pid: int, name: str, proc: str = PROC) -> bytes:
    """The bytes of ``proc/<pid>/<name>`` (``cmdline``, ``comm``); OSError as open's."""
    look = _current.get() if proc == PROC else None
    if look is None:
        return _read(proc, pid, name)
    key = (pid, name)
    if key not in look.files:
        try:
            look.files[key] = _read(proc, pid, name)
        except OSError:
            look.files[key] = None
    data = look.files[key]
    if data is None:
        raise FileNotFoundError(f"{proc}/{pid}/{name} could not be read")
    return data


def _list_pids(proc: str) -> list[int]:
    with os.scandir(proc) as entries:
        return [int(entry.name) for entry in entries if entry.name.isdigit()]


def _read(proc: str, pid: int, name: str) -> bytes:
    # os.open and os.read, not open(): a buffered file object costs three more system
    # calls (fstat, isatty, lseek) and a third of the time of each of these tiny reads.
    fd = os.open(f"{proc}/{pid}/{name}", os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):  # a Java command line can be pages long
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
