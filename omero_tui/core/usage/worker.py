"""A scan worker process: reads walk tasks on stdin, writes their results on stdout.

Started by usage_pool as ``python -m omero_tui.core.usage.worker``: a fresh interpreter
that imports nothing of the console but the walk, so it starts fast and is safe to
start from a process with threads (the console). Frames are an 8-byte little-endian
length and a ``marshal`` payload; both ends are this package, same user, same Python.
The worker exits at the end of its input, so closing its stdin stops it.
"""

from __future__ import annotations

import gc
import marshal
import os
import sys
from pathlib import Path

from omero_tui.core.usage.walk import walk_task

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

HEADER = 8
WALK, DAYS = "walk", "days"  # the two requests (see serve)


def read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def frame(payload: object) -> bytes:
    """What write_frame writes: the marshalled payload's length, then the payload."""
    data = marshal.dumps(payload)
    return len(data).to_bytes(HEADER, "little") + data


def write_frame(fd: int, payload: object) -> None:
    view = memoryview(frame(payload))
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int) -> object:
    size = int.from_bytes(read_exact(fd, HEADER), "little")
    return marshal.loads(read_exact(fd, size))


def start_worker(module: str) -> subprocess.Popen[bytes]:
    """``python -m module`` with pipes for frames, importable from a source tree too."""
    import subprocess  # here: a forked worker never needs it

    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])  # the dir holding omero_tui
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        close_fds=True,
    )
    assert process.stdin is not None and process.stdout is not None
    return process


def main() -> int:
    return serve(sys.stdin.fileno(), sys.stdout.fileno())


def fork_child(run: Callable[[int, int], int], failed: int = 1) -> tuple[int, int, int]:
    """Fork a child that runs ``run(reads, writes)`` on a pipe from this process and one
    back, then exits with its code (``failed`` if it raised): it never returns into the
    caller's code. (pid, the fd to write to it, the fd to read from it); if no process
    can be had, the pipes are closed again and the OSError raised."""
    reads, to_child = os.pipe()
    from_child, writes = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (reads, to_child, from_child, writes):
            os.close(fd)
        raise
    if pid == 0:
        code = failed
        try:
            _keep_only(reads, writes)
            code = run(reads, writes)
        finally:
            os._exit(code)
    os.close(reads)
    os.close(writes)
    return pid, to_child, from_child


def _keep_only(*fds: int) -> None:
    """In a forked child (a scan worker, check's other areas): close every inherited
    descriptor but ``fds`` and stderr, and point stdin and stdout at /dev/null. A
    caller's pipe (a monitoring script reading our output) must see its end when this
    program ends, not when a child does, and each child's pipes their EOF when their
    own ends close."""
    low = 3
    for fd in sorted(fd for fd in fds if fd >= low):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low, os.sysconf("SC_OPEN_MAX")))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        if fd not in fds and fd != null:  # a caller that closed its stdin: a pipe may be 0
            os.dup2(null, fd)
    if null not in (0, 1):
        os.close(null)


def serve(stdin: int, stdout: int) -> int:
    """Answer requests until the input ends (also the body of a forked worker).

    (WALK, scan, task) walks a task; its blocks by day are kept here, per tree, over all
    the tasks of that scan (summing them in the scan's own process cost it more than
    the walk of a small tree); (DAYS, scan) hands them over. A new scan starts afresh.
    """
    # The walk makes tuples of numbers and strings, never a reference cycle: the cyclic
    # collector would only cost time and, in a forked worker, write to every page of
    # the parent's heap that it walks (each then copied).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _answer(stdin, stdout)
    finally:
        if collecting:  # serve called in a process that goes on (a test)
            gc.enable()


def _answer(stdin: int, stdout: int) -> int:
    scan: object = None
    kept: dict[str, dict[str, dict[int, int]]] = {}
    while True:
        try:
            request = read_frame(stdin)
        except EOFError:
            return 0
        try:
            kind, number, *task = request  # type: ignore[misc]
            if number != scan:  # a new scan (the last one may have been cancelled)
                scan, kept = number, {}
            if kind == DAYS:
                result: object = ("ok", kept)
                kept = {}
            else:
                args = task[0]
                result = ("ok", walk_task(*args, keep=kept.setdefault(args[0], {})))
        except Exception as err:  # noqa: BLE001 - reported to the scan, which raises it
            result = ("error", f"{type(err).__name__}: {err}")
        write_frame(stdout, result)


if __name__ == "__main__":
    sys.exit(main())
