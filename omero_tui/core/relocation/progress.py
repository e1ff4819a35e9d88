"""Progress of a long relocation step, and the throttle that keeps reports to ~10 a second.

One shape for every step (scan, copy, verify, remove), so the CLI's progress line, its
JSON stream and the wizard's progress bar all read the same fields.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from omero_tui.core.record import frozen

REPORT_INTERVAL_S = 0.1  # at most ~10 reports a second, whatever the file rate


class Cancelled(Exception):
    """The caller set the cancel event; the step stopped at a safe point."""


@frozen
class Progress:
    step: str  # step id: "scan", "copy", "verify", "remove-source", ...
    message: str  # one line for a status bar
    bytes_done: int = 0
    bytes_total: int = 0
    files_done: int = 0
    files_total: int = 0
    rate: float | None = None  # bytes per second over the step so far
    eta_s: float | None = None  # seconds left at that rate; None when unknown

    def to_json(self) -> dict[str, object]:
        return {
            "event": "progress",
            "step": self.step,
            "message": self.message,
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "files_done": self.files_done,
            "files_total": self.files_total,
            "rate": None if self.rate is None else round(self.rate, 1),
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
        }


ProgressCallback = Callable[[Progress], None]


class Reporter:
    """Rate-limited progress for one step: call it as often as you like.

    ``clock`` is injectable so tests and snapshots can freeze rates and ETAs.
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        step: str,
        *,
        bytes_total: int = 0,
        files_total: int = 0,
        clock: Callable[[], float] = time.monotonic,
        interval: float = REPORT_INTERVAL_S,
    ) -> None:
        self._callback = callback
        self._step = step
        self._clock = clock
        self._interval = interval
        self._started = clock()
        self._last = float("-inf")
        self._lock = threading.Lock()  # the copier and the verifier both report
        self.bytes_total = bytes_total
        self.files_total = files_total
        self.base_bytes = 0  # done before this run (a resume): not part of the rate

    def __call__(
        self, message: str, bytes_done: int = 0, files_done: int = 0, *, final: bool = False
    ) -> None:
        if self._callback is None:
            return
        with self._lock:
            now = self._clock()
            if not final and now - self._last < self._interval:
                return
            self._last = now
        elapsed = now - self._started
        moved = bytes_done - self.base_bytes
        rate = moved / elapsed if elapsed > 0.2 and moved > 0 else None
        left = max(0, self.bytes_total - bytes_done)
        eta = left / rate if rate else (0.0 if final else None)
        self._callback(
            Progress(
                self._step,
                message,
                bytes_done,
                self.bytes_total,
                files_done,
                self.files_total,
                rate,
                eta,
            )
        )


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
