"""The lock probe's results: what each step of the two-process probe showed.

``probe`` (which runs the probe), ``probe_process`` and ``findings`` (which judges it)
import these; a check that runs no probe loads none of it.
"""

from __future__ import annotations

from omero_tui.core.record import frozen

KINDS = ("flock", "fcntl")
HOLDER_TAKES = "first process takes an exclusive lock"
REFUSED_EX = "second process refused (exclusive)"
REFUSED_SH = "second process refused (shared)"
HANDOFF = "second process gets it after release"
SHARED = "shared locks coexist"


@frozen
class ProbeTimeouts:
    start_s: float = 10.0  # a cold Python start on a loaded server
    step_s: float = 3.0  # any single request
    handoff_s: float = 2.0  # release -> the other process gets the lock


DEFAULT_TIMEOUTS = ProbeTimeouts()


@frozen
class ProbeStep:
    name: str  # e.g. "second process refused (exclusive)"
    passed: bool
    detail: str  # "refused (EAGAIN)", "got it 0.3 ms after release", "hung: no answer in 3 s"
    ms: float | None = None
    errno: str | None = None  # "ENOLCK", "EBADF", ... when a call failed


@frozen
class KindProbe:
    kind: str  # "flock" | "fcntl"
    steps: tuple[ProbeStep, ...]

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.passed for s in self.steps)

    @property
    def lock_ms(self) -> float | None:
        return self.steps[0].ms if self.steps else None

    @property
    def handoff_ms(self) -> float | None:
        step = next((s for s in self.steps if s.name == HANDOFF), None)
        return step.ms if step and step.passed else None

    @property
    def failure(self) -> ProbeStep | None:
        return next((s for s in self.steps if not s.passed), None)


@frozen
class DirectoryProbe:
    path: str
    kinds: tuple[KindProbe, ...] = ()
    write: ProbeStep | None = None
    flock_emulated: bool | None = None  # a flock in one process blocks fcntl in another
    error: str | None = None  # the probe could not run at all
    hung: bool = False  # a step never answered; its process was killed
    cancelled: bool = False
    leftover: tuple[str, ...] = ()  # probe files that could not be removed (named for the admin)
    # Who the probe ran as: root is refused on a share with root_squash, and what root
    # may do says nothing about the server user.
    uid: int | None = None

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and not self.hung
            and not self.cancelled
            and len(self.kinds) == len(KINDS)
            and all(k.passed for k in self.kinds)
            and self.write is not None
            and self.write.passed
        )

    def kind(self, name: str) -> KindProbe | None:
        return next((k for k in self.kinds if k.kind == name), None)


@frozen
class ProbeProgress:
    done: int  # directories finished
    total: int
    path: str  # the directory being probed ("" when done)
    step: str
