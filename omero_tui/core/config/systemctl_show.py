"""systemd's own answer to "where is this unit's file?" (``systemctl show``), asked early.

``systemctl show`` takes a few milliseconds, nearly all of it waiting for systemd (or
for whatever answers in its place) while this process has nothing to do. The Layout
area needs the answer only at its end, after it has probed every subdirectory, so it
asks at its start (``AskedEarly``) and reads the answer when it gets there: the wait
overlaps the probes. The question, the command and where it runs are the same as
asking when needed; only when it starts changes. Outside an ``AskedEarly`` block, or
for another unit, ``fragment_path`` asks then and there, as it always did.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar, Token

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    import subprocess

TIMEOUT = 10.0  # seconds: a hung systemd gives no answer rather than a hung console

# unit name -> (the running systemctl, when it must have answered by)
_asked: ContextVar[dict[str, tuple[subprocess.Popen[str], float]] | None] = ContextVar(
    "omero_tui_systemctl_asked", default=None
)


class AskedEarly:
    """``with AskedEarly(name):`` starts ``systemctl show`` for ``name`` now; a
    ``fragment_path(name)`` inside the block reads that answer. An answer nobody read
    is not waited for: the command is killed and reaped when the block ends."""

    def __init__(self, name: str | None) -> None:
        self.name = name  # None: nothing to ask (the block does nothing)
        self._token: Token[dict[str, tuple[subprocess.Popen[str], float]] | None] | None = None

    def __enter__(self) -> AskedEarly:
        if self.name is None:
            return self
        try:
            process = _start(self.name)
        except OSError:
            return self  # fragment_path runs it again when asked, and fails the same way
        asked = dict(_asked.get() or {})
        asked[self.name] = (process, time.monotonic() + TIMEOUT)
        self._token = _asked.set(asked)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is None:
            return
        pending = (_asked.get() or {}).get(self.name or "")
        _asked.reset(self._token)
        if pending is not None:
            _end(pending[0])


def fragment_path(name: str) -> str | None:
    """systemd's own answer (``systemctl show``), None when it gives none."""
    # Here, not at the top: a command that only reads unit files loads no subprocess.
    import subprocess

    asked = _asked.get()
    pending = asked.pop(name, None) if asked is not None else None
    try:
        process, deadline = pending or (_start(name), time.monotonic() + TIMEOUT)
    except OSError:
        return None
    try:
        out, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.SubprocessError:  # no answer in time
        return None
    finally:
        if process.returncode is None:  # timed out or interrupted: not left running
            _end(process)
    path = out.strip()
    return path if process.returncode == 0 and path and os.path.isfile(path) else None


def _start(name: str) -> subprocess.Popen[str]:
    # No shutil.which first: a missing systemctl is an OSError here too, and shutil
    # (with the compression modules it loads) would cost every check a millisecond.
    import subprocess

    return subprocess.Popen(
        ["systemctl", "show", "--property=FragmentPath", "--value", name],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _end(process: subprocess.Popen[str]) -> None:
    """Kill (if still running) and reap, closing its pipes: no zombie, no open fd."""
    if process.poll() is None:
        process.kill()
    process.communicate()
