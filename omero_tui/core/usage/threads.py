"""The usage scan on a share: many metadata requests in flight, from threads.

On NFS, SMB, GPFS, Lustre or a FUSE filesystem a ``stat`` or a directory listing is a
round trip to a server, and the wait, not the CPU, bounds a scan. CPython releases the
GIL in ``scandir``, ``stat`` and ``open``, so threads keep many requests in flight at
once, where worker processes (one per core) keep only a few. Each thread lists one
directory at a time with the same code as the workers (usage_walk), so the totals are
the same to the byte.

The number of threads allowed to work starts at START_THREADS and adapts to what the
share answers: it grows while a larger number still brings more entries a second, and
steps back when it brought less (a server or a link already saturated).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from omero_tui.core.usage.model import ScanCancelled
from omero_tui.core.usage.plan import ScanPlan
from omero_tui.core.usage.walk import Own, list_directory

START_THREADS = 24
MAX_THREADS = 128
MIN_THREADS = 4
WINDOW = 0.3  # seconds of throughput that judge a change in the number of threads
GAIN = 1.08  # a larger number is kept when it brings this much more throughput
STEP = 1.5

# (root, found records, links, problems, mounts, entries seen, days by row)
Found = tuple[int, list, list, list, list, int, dict, list]


class ThreadStats:
    """What the threaded walk measured, for the progress line and the benchmark."""

    __slots__ = ("level", "peak", "latency")

    def __init__(self, level: int = START_THREADS) -> None:
        self.level = level  # threads allowed to work now
        self.peak = 0  # most directory requests in flight at once
        self.latency = 0.0  # mean seconds per entry, one thread's view (round trips)


class _Shared:
    def __init__(self, work: list[tuple[int, str, Own]], level: int) -> None:
        self.work: deque[tuple[int, str, Own]] = deque(work)
        self.pending = len(work)  # queued or being listed
        self.level = level
        self.active = 0
        self.stop = False
        self.cond = threading.Condition()
        self.found: deque[Found] = deque()
        self.failure: BaseException | None = None
        self.waited = 0.0  # wall seconds inside list_directory, all threads
        self.seen = 0


def walk_threaded(
    plan: ScanPlan,
    frontier: list[tuple[int, str, Own]],
    deliver: Callable[[Found], None],
    tick: Callable[[], None],
    cancel: threading.Event | None,
    stats: ThreadStats | None = None,
    start: int = START_THREADS,
    maximum: int = MAX_THREADS,
) -> ThreadStats:
    """Walk every directory below ``frontier``; ``deliver`` gets each listing's results
    (in this thread), ``tick`` is called about every REPORT interval for progress."""
    stats = stats or ThreadStats()
    shared = _Shared(frontier, max(1, min(start, maximum)))
    stats.level = shared.level
    threads: list[threading.Thread] = []

    def ensure_threads() -> None:
        while len(threads) < shared.level:
            thread = threading.Thread(
                target=_work, args=(plan, shared, len(threads)), daemon=True, name="usage-walk"
            )
            threads.append(thread)
            thread.start()

    ensure_threads()
    tuner = _Tuner(shared, stats, maximum)
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise ScanCancelled()
            with shared.cond:
                if shared.pending == 0 or shared.failure is not None:
                    break
                shared.cond.wait(0.05)
            while shared.found:
                deliver(shared.found.popleft())
            if tuner.adjust():
                ensure_threads()
            tick()
        if shared.failure is not None:
            raise shared.failure
        if cancel is not None and cancel.is_set():
            raise ScanCancelled()
        while shared.found:
            deliver(shared.found.popleft())
    finally:
        with shared.cond:
            shared.stop = True
            shared.cond.notify_all()
        # Threads stuck in a hung server's round trip are daemons: they do not hold the
        # process, and their results are dropped with the scan.
    stats.latency = shared.waited / shared.seen if shared.seen else 0.0
    return stats


def _work(plan: ScanPlan, shared: _Shared, index: int) -> None:
    cond = shared.cond
    while True:
        with cond:
            while not shared.stop and (index >= shared.level or not shared.work):
                if shared.pending == 0:
                    return
                cond.wait()
            if shared.stop:
                return
            root, rel, own = shared.work.pop()
            shared.active += 1
        tree = plan.roots[root]
        links: list = []
        problems: list = []
        mounts: list = []
        days: dict[int, int] = {}
        watch = plan.pixels_watch(root)
        began = time.perf_counter()
        try:
            record, subdirs, seen, marks = list_directory(
                tree.path, rel, own, tree.dev, links, problems, mounts, days, watch
            )
        except BaseException as err:  # noqa: BLE001 - handed to the scan, which raises it
            with cond:
                shared.failure = err
                shared.stop = True
                cond.notify_all()
            return
        took = time.perf_counter() - began
        shared.found.append(
            (
                root,
                [record],
                links,
                problems,
                mounts,
                seen,
                {rel.partition("/")[0]: days},
                marks,
            )
        )
        with cond:
            shared.waited += took
            shared.seen += seen + 1
            shared.active -= 1
            shared.work.extend((root, sub_rel, sub_own) for sub_rel, sub_own in subdirs)
            shared.pending += len(subdirs) - 1
            if shared.pending == 0 or len(subdirs) > 1:
                cond.notify_all()
            elif subdirs:
                cond.notify()


class _Tuner:
    """Hill-climbing on entries a second: grow while it pays; when the first step up
    brings nothing, try fewer (a share that answers fast, where threads only contend);
    settle at the best number seen."""

    def __init__(self, shared: _Shared, stats: ThreadStats, maximum: int) -> None:
        self.shared, self.stats, self.maximum = shared, stats, maximum
        self.mark = time.monotonic()
        self.mark_seen = 0
        self.best_rate = 0.0
        self.start = self.best_level = shared.level
        self.growing = True
        self.settled = False

    def adjust(self) -> bool:
        """True when the number of threads went up (more threads may be needed)."""
        shared = self.shared
        self.stats.peak = max(self.stats.peak, shared.active)
        now = time.monotonic()
        if now - self.mark < WINDOW:
            return False
        rate = (shared.seen - self.mark_seen) / (now - self.mark)
        self.mark, self.mark_seen = now, shared.seen
        if self.settled or len(shared.work) < shared.level:
            return False  # too little queued to tell what more threads would bring
        grew = False
        with shared.cond:
            if rate > self.best_rate * GAIN:
                self.best_rate, self.best_level = rate, shared.level
                if self.growing and shared.level < self.maximum:
                    shared.level = min(self.maximum, int(shared.level * STEP))
                    grew = True
                elif not self.growing and shared.level > MIN_THREADS:
                    shared.level = max(MIN_THREADS, shared.level // 2)
                else:
                    self.settled = True
            elif self.growing and self.best_level == self.start and self.start > MIN_THREADS:
                # The first step up brought nothing: see whether fewer do as well.
                self.growing = False
                shared.level = max(MIN_THREADS, self.start // 2)
            else:
                # The last step brought nothing: back to the best number, and stay there.
                shared.level = self.best_level
                self.settled = True
            shared.cond.notify_all()
        self.stats.level = shared.level
        return grew


# Filesystems where a metadata call is a round trip to a server (or to a user-space
# daemon): walked by threads. Anything else is a local disk, walked by processes.
REMOTE_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "glusterfs",
        "gpfs",
        "lustre",
        "beegfs",
        "orangefs",
        "pvfs2",
        "9p",
        "afs",
        "ocfs2",
        "gfs2",
        "panfs",
        "wekafs",
        "davfs",
        "virtiofs",
    }
)


def is_remote(fstype: str) -> bool:
    return fstype in REMOTE_TYPES or fstype == "fuse" or fstype.startswith(("fuse.", "fuseblk"))


def remote_roots(plan: ScanPlan) -> list[str]:
    """The walked trees that live on a share or a FUSE filesystem (by the mount table)."""
    from omero_tui.core.mounts import MountTable

    table = MountTable.read()
    found = []
    for root in plan.roots:
        mount = table.lookup(root.path, root.dev)
        if mount is not None and is_remote(mount.fstype):
            found.append(root.path)
    return found
