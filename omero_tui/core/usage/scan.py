"""The full usage scan: every directory listed, shared between worker processes.

On a share or a FUSE filesystem (judged by the mount table) the walk is done by many
threads instead, which keep many round trips in flight (usage.threads). On a local
disk, the top one or two levels are listed here and the walk goes on here until the
tree proves large (see usage_pool); then the directories not yet reached are handed
to the pool as tasks. A task walks until it has seen its budget of entries and hands
back what it has not reached, which is split again, so a skewed tree (one huge Pixels)
still keeps every worker busy to the end. The largest subtrees of the previous scan go
first. Workers return per-directory aggregates only; the merge is in usage_tree.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from operator import itemgetter

from omero_tui.core.usage.assemble import WalkResult, add_days, assemble
from omero_tui.core.usage.model import ScanCancelled, UsageProgress, UsageScan
from omero_tui.core.usage.plan import ScanPlan, UsageError, plan_scan
from omero_tui.core.usage.pool import ScanPool, WorkerDied
from omero_tui.core.usage.table import RecordTable
from omero_tui.core.usage.threads import ThreadStats, remote_roots, walk_threaded
from omero_tui.core.usage.walk import (
    BLOCKS,
    FILES,
    L_BLOCKS,
    OWN_BLOCKS,
    REL,
    Own,
    list_directory,
    own_of,
    walk_task,
)

_REL, _FILES, _OWN_BLOCKS, _BLOCKS = map(itemgetter, (REL, FILES, OWN_BLOCKS, BLOCKS))

ProgressCallback = Callable[[UsageProgress], None]
DEFAULT_BUDGET = 10_000  # entries per task when no earlier scan tells the tree's size
REPORT_EVERY = 0.1  # seconds between progress reports
MAX_PROBLEMS = 500  # error messages kept; every error is counted all the same
CONCURRENCY = ("auto", "threads", "processes")


class Progress:
    """Counts what the walk has seen and reports it at most every REPORT_EVERY seconds."""

    def __init__(
        self, callback: ProgressCallback | None, expected: int | None, quick: bool = False
    ) -> None:
        self.callback, self.expected, self.quick = callback, expected, quick
        self.entries = self.dirs = self.allocated = self.files = 0
        self.start = self._last = time.monotonic()
        self.threads: ThreadStats | None = None  # set by a threaded walk

    def add(self, records: list[tuple], seen: int, link_blocks: int = 0) -> None:
        self.entries += seen
        self.dirs += len(records)
        # Summed at C speed (itemgetter): the console's share of a scan's CPU.
        self.files += sum(map(_FILES, records))
        blocks = link_blocks + sum(map(_OWN_BLOCKS, records)) + sum(map(_BLOCKS, records))
        self.allocated += blocks * 512

    def add_reused(self, dirs: int, files: int, blocks: int) -> None:
        """Directories taken from an earlier scan (a quick rescan's most common case),
        counted in batches: their files and blocks (own inodes included)."""
        self.entries += dirs
        self.dirs += dirs
        self.files += files
        self.allocated += blocks * 512

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.callback is None or (not force and now - self._last < REPORT_EVERY):
            return
        self._last = now
        elapsed = now - self.start
        self.callback(
            UsageProgress(
                entries=self.entries,
                dirs=self.dirs,
                allocated_bytes=self.allocated,
                elapsed=elapsed,
                rate=self.entries / elapsed if elapsed > 0 else 0.0,
                expected=self.expected,
                quick=self.quick,
                in_flight=self.threads.level if self.threads is not None else None,
                files=self.files,
            )
        )


def scan_usage(
    data_dir: str,
    managed_dir: str | None = None,
    *,
    pool: ScanPool | None = None,
    previous: UsageScan | WalkResult | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
    concurrency: str = "auto",
) -> UsageScan:
    """Walk the whole repository. Raises UsageError, or ScanCancelled when ``cancel`` is set.

    ``previous`` (an earlier scan of the same repository) only orders the work and
    gives the progress a percentage; nothing of it is reused (see usage_quick).
    ``concurrency``: "auto" (threads on a share or FUSE, processes on a local disk),
    "threads" or "processes".
    """
    if concurrency not in CONCURRENCY:
        raise ValueError(f"concurrency must be one of {CONCURRENCY}")
    plan = plan_scan(data_dir, managed_dir)
    if isinstance(previous, UsageScan):
        previous = previous.raw if isinstance(previous.raw, WalkResult) else None
    if concurrency == "threads" or (concurrency == "auto" and remote_roots(plan)):
        return assemble(_walk_threads(plan, previous, progress, cancel, clock))
    own_pool = pool is None
    pool = ScanPool() if pool is None else pool
    try:
        try:
            return assemble(_walk(plan, pool, previous, progress, cancel, clock))
        except WorkerDied:
            pool.close()  # a worker was killed (OOM, a signal): one more try, fresh workers
            if cancel is not None and cancel.is_set():
                # Closing the pool under a running scan (the panel going away) kills its
                # workers too: that is a cancel, and must not start new workers.
                raise ScanCancelled() from None
            try:
                return assemble(_walk(plan, pool, previous, progress, cancel, clock))
            except WorkerDied as err:
                pool.close()
                raise UsageError(f"the scan's worker processes keep dying: {err}") from err
    finally:
        if own_pool:
            pool.close()


class _Collector:
    """What the walk found so far, whoever walked it."""

    def __init__(
        self,
        plan: ScanPlan,
        previous: WalkResult | None,
        progress: ProgressCallback | None,
        clock: Callable[[], float],
    ) -> None:
        self.plan, self.clock = plan, clock
        self.started = clock()
        self.records: list[dict[str, tuple]] = [{} for _ in plan.roots]
        self.links: list[list[tuple]] = [[] for _ in plan.roots]
        self.problems: list[tuple[str, str, str]] = []
        self.mounts: list[tuple[int, str]] = []
        self.marks: list[tuple[int, str, str]] = []
        self.days: dict[str, dict[int, int]] = {}
        expected = None
        if previous is not None and previous.plan.data_dir == plan.data_dir:
            expected = previous.entries
        self.expected = expected
        self.counter = Progress(progress, expected)

    def store(
        self,
        root: int,
        found: list,
        found_links: list,
        found_mounts: list,
        seen: int,
        found_days: dict,
        found_problems: list = (),  # type: ignore[assignment]
        found_marks: list = (),  # type: ignore[assignment]
    ) -> None:
        self.records[root].update(zip(map(_REL, found), found, strict=True))
        if found_links:
            self.links[root].extend(found_links)
        if found_marks:
            self.marks.extend((root, rel, name) for rel, name in found_marks)
        if found_mounts:
            self.mounts.extend((root, rel) for rel in found_mounts)
        add_days(self.days, self.plan, root, found_days)
        self.counter.add(found, seen, sum(link[L_BLOCKS] for link in found_links))
        if found_problems:
            room = max(0, MAX_PROBLEMS - len(self.problems))
            self.problems.extend(found_problems[:room])

    def result(self) -> WalkResult:
        self.counter.report(force=True)
        return WalkResult(
            plan=self.plan,
            records=self.records,
            links=self.links,
            problems=self.problems,
            mounts=self.mounts,
            days=self.days,
            entries=self.counter.entries,
            started_at=self.started,
            finished_at=self.clock(),
            pyramid_locks=tuple(sorted(self.marks)),
        )


def _walk_threads(
    plan: ScanPlan,
    previous: WalkResult | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    clock: Callable[[], float],
) -> WalkResult:
    found = _Collector(plan, previous, progress, clock)
    frontier = _seed(plan, 1, found.store, found.problems)  # the roots themselves
    stats = found.counter.threads = ThreadStats()

    def deliver(item: tuple) -> None:
        root, records, links, problems, mounts, seen, days, marks = item
        found.store(root, records, links, mounts, seen, days, problems, marks)

    walk_threaded(plan, frontier, deliver, found.counter.report, cancel, stats)
    return found.result()


def _walk(
    plan: ScanPlan,
    pool: ScanPool,
    previous: WalkResult | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    clock: Callable[[], float],
) -> WalkResult:
    found = _Collector(plan, previous, progress, clock)
    roots = plan.roots
    store = found.store
    frontier = _seed(plan, pool.parallel * 4, store, found.problems)
    frontier = _walk_here(plan, frontier, pool.inline_entries(found.expected), found)
    if cancel is not None and cancel.is_set():
        raise ScanCancelled()
    if not frontier:  # a small tree: done before a worker would have started
        return found.result()
    size_of = _previous_sizes(plan, previous)
    frontier.sort(key=lambda item: size_of(item[0], item[1]), reverse=True)
    parallel = pool.parallel
    expected = found.expected
    budget = max(2_000, expected // (parallel * 8)) if expected else DEFAULT_BUDGET
    queue: deque[tuple[int, list[tuple[str, Own]]]] = deque(_split(frontier, 8 * parallel))
    with pool.session() as session:
        while queue or session.pending():
            while queue and session.idle():
                root, starts = queue.popleft()
                task = (roots[root].path, roots[root].dev, starts, budget, plan.pixels_watch(root))
                session.submit(root, task)
            for root, result in session.results(REPORT_EVERY):
                found_records, links, problems, mounts, left, seen, days, marks = result
                store(root, found_records, links, mounts, seen, days, problems, marks)
                if left:
                    # Shared out only when the queue runs short: a task stops at its
                    # budget and hands back the rest anyway, and a piece of a few small
                    # directories would cost a worker a round trip for little walking.
                    ways = 2 * parallel if len(queue) < parallel else 1
                    pieces = _split([(root, rel, own) for rel, own in left], ways)
                    queue.extendleft(reversed(pieces))
            if cancel is not None and cancel.is_set():
                raise ScanCancelled()
            found.counter.report()
        index_of = {tree.path: index for index, tree in enumerate(roots)}
        for kept in session.kept_days():
            for path, days in kept.items():
                add_days(found.days, plan, index_of[path], days)
    return found.result()


def _walk_here(
    plan: ScanPlan, frontier: list[tuple[int, str, Own]], budget: int, found: _Collector
) -> list[tuple[int, str, Own]]:
    """Walk up to ``budget`` entries in this process; returns the directories not reached."""
    if budget <= 0 or not frontier:
        return frontier
    left: list[tuple[int, str, Own]] = []
    for root, starts in _split(frontier, 1):
        if budget <= 0:
            left.extend((root, rel, own) for rel, own in starts)
            continue
        tree = plan.roots[root]
        records, links, problems, mounts, rest, seen, days, marks = walk_task(
            tree.path, tree.dev, starts, budget, plan.pixels_watch(root)
        )
        found.store(root, records, links, mounts, seen, days, problems, marks)
        budget -= seen
        left.extend((root, rel, own) for rel, own in rest)
    found.counter.report()
    return left


def _seed(
    plan: ScanPlan,
    enough: int,
    store: Callable[..., None],
    problems: list,
) -> list[tuple[int, str, Own]]:
    """List the top levels here until there are ``enough`` directories to share out."""
    frontier: list[tuple[int, str, Own]] = []
    for index, root in enumerate(plan.roots):
        try:
            frontier.append((index, "", own_of(os.lstat(root.path))))
        except OSError as err:  # vanished since the plan: an error, counted like du does
            problems.append((root.path, root.path, err.strerror or str(err)))
            store(index, [("", 0, 0, 0, 0, 0, 0, 0, 0, 1, b"")], [], [], 0, {})
    for _ in range(2):
        if len(frontier) >= enough:
            break
        deeper: list[tuple[int, str, Own]] = []
        for index, rel, own in frontier:
            root = plan.roots[index]
            found_links: list = []
            found_mounts: list = []
            day_row: dict[int, int] = {}
            watch = plan.pixels_watch(index)
            record, subdirs, seen, marks = list_directory(
                root.path, rel, own, root.dev, found_links, problems, found_mounts, day_row, watch
            )
            days = {rel.partition("/")[0]: day_row}
            store(index, [record], found_links, found_mounts, seen, days, found_marks=marks)
            deeper.extend((index, sub_rel, sub_own) for sub_rel, sub_own in subdirs)
        frontier = deeper
    return frontier


def _previous_sizes(plan: ScanPlan, previous: WalkResult | None) -> Callable[[int, str], int]:
    """Files and directories below a top directory at the previous scan (0 if unknown).

    Records as a table (as every scan's are) know their subtree totals
    (RecordTable.sum_of); for others, one pass over the records counts what lies
    below each directory of the frontier's levels (at most two deep, see _seed).
    """
    if previous is None:
        return lambda root, rel: 0
    where = {root.path: index for index, root in enumerate(previous.plan.roots)}
    mapping = {i: where.get(root.path) for i, root in enumerate(plan.roots)}
    counted: dict[tuple[int, str], int] | None = None

    def size_of(root: int, rel: str) -> int:
        nonlocal counted
        old = mapping.get(root)
        if old is None:
            return 0
        records = previous.records[old]
        if isinstance(records, RecordTable) and records.prefix is not None:
            sums = records.sum_of(rel)
            return 0 if sums is None else sums[0] + sums[1]  # files, dirs
        if counted is None:
            counted = _counts_below(previous)
        return counted.get((old, rel), 0)

    return size_of


def _counts_below(previous: WalkResult) -> dict[tuple[int, str], int]:
    counts: dict[tuple[int, str], int] = {}
    for old, records in enumerate(previous.records):
        for rel, record in records.items():
            weight = record[FILES] + 1
            parts = rel.split("/", 2)
            first = (old, parts[0])
            counts[first] = counts.get(first, 0) + weight
            if len(parts) > 1:
                second = (old, parts[0] + "/" + parts[1])
                counts[second] = counts.get(second, 0) + weight
    return counts


def _split(
    items: list[tuple[int, str, Own]], pieces: int
) -> list[tuple[int, list[tuple[str, Own]]]]:
    """Deal directories round-robin into up to ``pieces`` tasks, one root per task."""
    by_root: dict[int, list[tuple[str, Own]]] = {}
    for root, rel, own in items:
        by_root.setdefault(root, []).append((rel, own))
    tasks: list[tuple[int, list[tuple[str, Own]]]] = []
    for root, dirs in by_root.items():
        count = max(1, min(len(dirs), pieces))
        tasks.extend((root, dirs[i::count]) for i in range(count))
    return tasks
