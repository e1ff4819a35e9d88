"""What every area's check runs inside: a failure is an UNKNOWN verdict, never a crash.

Apart from the areas themselves (``areas``) so that a process which runs only some of
them (``omero-tui check`` scanning while a child checks the rest, see ``aside``) loads
only those.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.health.model import AreaHealth
from omero_tui.core.server.proc_look import ProcLook

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    Metrics = dict[str, Any]
    AreaResult = tuple[AreaHealth, Metrics]


def guarded(area: str, check: Callable[[], AreaResult]) -> AreaResult:
    """Run one area's check; any failure becomes an UNKNOWN verdict that says why.

    The check takes one look at the process table (``ProcLook``): its parts that list
    every process (the Layout's container, PostgreSQL and server questions) read /proc
    once between them, and the next check reads it afresh."""
    try:
        with ProcLook():
            return check()
    except Exception as err:  # noqa: BLE001 - an area that cannot run must still be seen
        return check_failed(area, f"{type(err).__name__}: {err}")


def check_failed(area: str, why: str) -> AreaResult:
    """The UNKNOWN verdict of an area whose check could not give one."""
    finding = Finding(area, Severity.UNKNOWN, f"{area}.check_failed", f"Check failed: {why}")
    return AreaHealth(area, Severity.UNKNOWN, finding.message, (finding,), time.time()), {}


def not_judged_area(area: str, location: ServerLocation) -> AreaResult:
    """An area that has nothing on this disk to look at: a Windows-era repository path.
    The Layout area carries the one line that says why; this one only says so."""
    words = f"Not judged: {location.data_dir.value} is a Windows path, not on this disk."
    return AreaHealth(area, Severity.UNKNOWN, words, (), time.time(), "Windows path"), {}
