"""Areas checked in a forked child while this process runs the usage scan.

``omero-tui check --quick`` spends most of its time in the scan (``lstat`` on every
directory) and in Python, on one core; the other areas (layout, locks, permissions,
server, relocation, database) need nothing from it but the pyramid lock files it met.
A child forked before the scan loads their modules and runs them on the other core,
so the whole check costs about what the scan does. Each area runs in the child exactly
as it would here (same code, same guard): only where it runs changes.

The child runs the areas that need nothing from the scan, then reads the scan's
handover (``hand_over``) for the rest, and writes every verdict at the end; before the
handover it only ever writes progress, and drops a progress line rather than wait for
room in the pipe, so neither side can block the other. An area the child could not
answer for (killed, crashed) is an UNKNOWN "Check failed" verdict, never missing.

Frames are the scan workers' (``usage.worker``): an 8-byte length and a ``marshal``
payload, between two processes of this program.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
from collections.abc import Callable, Sequence

from omero_tui.core.health.guard import check_failed, guarded
from omero_tui.core.health.model import AreaHealth
from omero_tui.core.server.proc_look import ProcLook
from omero_tui.core.usage.worker import fork_child, frame, read_frame, write_frame

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.health.guard import AreaResult

    Tell = Callable[[str, int, str], None]
    Handover = Callable[[], object]
    Checks = dict[str, Callable[[], AreaResult]]

PROGRESS, AREA = "progress", "area"
DETAIL_CHARS = 200  # a progress frame stays far below PIPE_BUF: written whole or not at all


class AsideAreas:
    """The child checking ``names``; ``make_checks(tell, handover)`` builds their checks
    in the child (loading their modules there), ``after`` names those that call
    ``handover`` and so run last."""

    def __init__(
        self,
        names: Sequence[str],
        make_checks: Callable[[Tell, Handover], Checks],
        *,
        after: Sequence[str] = (),
        progress: bool = False,
    ) -> None:
        self.names = tuple(names)
        first = [n for n in names if n not in after]
        last = [n for n in names if n in after]
        # An OSError (no process to be had) reaches the caller, which checks in turn.
        self.pid, self._handover, self._results = fork_child(
            lambda reads, writes: _child(first, last, make_checks, reads, writes, progress),
            failed=70,
        )
        self._status: int | None = None

    def hand_over(self, value: object) -> None:
        """What the scan found for the areas that need it (marshal-able)."""
        fd, self._handover = self._handover, -1
        if fd < 0:
            return
        try:
            write_frame(fd, value)
        except OSError:
            pass  # the child is gone: collect says so for each of its areas
        finally:
            os.close(fd)

    def collect(self, tell: Tell | None = None) -> dict[str, AreaResult]:
        """Every area's verdict (UNKNOWN for any the child did not answer), after its
        progress has been passed to ``tell``."""
        self.hand_over(None)  # no-op when handed over; else the child must not wait
        results: dict[str, AreaResult] = {}
        with contextlib.suppress(EOFError, OSError, ValueError):
            while True:
                kind, *fields = read_frame(self._results)  # type: ignore[misc]
                if kind == PROGRESS and tell is not None:
                    tell(*fields)
                elif kind == AREA:
                    name, area, figures = fields
                    results[name] = (AreaHealth.from_json(area), figures)
        self.stop(kill=False)  # its end of the pipe is closed: it has ended or is ending
        for name in self.names:
            if name not in results:
                results[name] = check_failed(name, self._why_no_answer())
        return results

    def stop(self, *, kill: bool = True) -> None:
        """Reap the child (``kill``: ending it at once first); safe to call twice."""
        for fd in (self._handover, self._results):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._handover = self._results = -1
        if self._status is not None:
            return
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        try:
            self._status = os.waitpid(self.pid, 0)[1]
        except ChildProcessError:  # reaped already: SIGCHLD ignored by whoever started us
            self._status = 0

    def _why_no_answer(self) -> str:
        status = self._status or 0
        if os.WIFSIGNALED(status):
            ended = f"was killed by signal {os.WTERMSIG(status)}"
        else:
            ended = f"ended with exit code {os.waitstatus_to_exitcode(status)}"
        return f"the process checking it {ended} before it answered"


def _child(
    first: list[str],
    last: list[str],
    make_checks: Callable[[Tell, Handover], Checks],
    handover_fd: int,
    results_fd: int,
    progress: bool,
) -> int:
    handed: list[object] = []

    def handover() -> object:
        if not handed:
            try:
                handed.append(read_frame(handover_fd))
            except EOFError:  # the caller ended without one: nothing to run for
                os._exit(0)
        return handed[0]

    def tell(area: str, done: int, detail: str = "") -> None:
        if progress:
            _send_or_drop(results_fd, (PROGRESS, area, done, detail[:DETAIL_CHARS]))

    results = []
    try:
        checks = make_checks(tell, handover)
    except Exception as err:  # noqa: BLE001 - each area says why it was not checked
        checks = {name: _failing(err) for name in first + last}
    # The areas that need nothing from the scan run back to back: one look at the
    # process table serves them all. Those after the scan's handover look afresh.
    with ProcLook():
        for name in first:
            results.append((AREA, name, *_portable(name, guarded(name, checks[name]))))
    for name in last:
        results.append((AREA, name, *_portable(name, guarded(name, checks[name]))))
    handover()  # read whether asked or not: the caller may be blocked writing it
    for result in results:
        write_frame(results_fd, result)
    return 0


def _failing(err: Exception) -> Callable[[], AreaResult]:
    def check() -> AreaResult:
        raise err

    return check


def _portable(name: str, result: AreaResult) -> tuple[dict, dict]:
    """The verdict as marshal-able data (an area whose figures are not is UNKNOWN)."""
    area, figures = result
    data = (area.to_json(), figures)
    try:
        marshal.dumps(data)
    except ValueError as err:
        area, figures = check_failed(name, f"its result cannot be handed over: {err}")
        data = (area.to_json(), figures)
    return data


def _send_or_drop(fd: int, payload: object) -> None:
    os.set_blocking(fd, False)
    try:
        os.write(fd, frame(payload))  # whole or nothing: below PIPE_BUF
    except BlockingIOError:
        pass  # the caller is busy scanning: a later line says more
    finally:
        os.set_blocking(fd, True)
