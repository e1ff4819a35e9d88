"""The full usage scan: every directory listed, shared between worker processes.

The top one or two levels are listed here, then the directories below them are handed
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

from omero_tui.core.usage.assemble import WalkResult, add_days, assemble
from omero_tui.core.usage.model import ScanCancelled, UsageProgress, UsageScan
from omero_tui.core.usage.plan import ScanPlan, UsageError, plan_scan
from omero_tui.core.usage.pool import ScanPool, WorkerDied
from omero_tui.core.usage.walk import BLOCKS, L_BLOCKS, OWN_BLOCKS, Own, list_directory, own_of

ProgressCallback = Callable[[UsageProgress], None]
DEFAULT_BUDGET = 10_000  # entries per task when no earlier scan tells the tree's size
REPORT_EVERY = 0.1  # seconds between progress reports
MAX_PROBLEMS = 500  # error messages kept; every error is counted all the same


class Progress:
    """Counts what the walk has seen and reports it at most every REPORT_EVERY seconds."""

    def __init__(
        self, callback: ProgressCallback | None, expected: int | None, quick: bool = False
    ) -> None:
        self.callback, self.expected, self.quick = callback, expected, quick
        self.entries = self.dirs = self.allocated = 0
        self.start = self._last = time.monotonic()

    def add(self, records: list[tuple], seen: int, link_blocks: int = 0) -> None:
        self.entries += seen
        self.dirs += len(records)
        blocks = link_blocks + sum(r[OWN_BLOCKS] + r[BLOCKS] for r in records)
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
            )
        )


def scan_usage(
    data_dir: str,
    managed_dir: str | None = None,
    *,
    pool: ScanPool | None = None,
    previous: UsageScan | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> UsageScan:
    """Walk the whole repository. Raises UsageError, or ScanCancelled when ``cancel`` is set.

    ``previous`` (an earlier scan of the same repository) only orders the work and
    gives the progress a percentage; nothing of it is reused (see usage_quick).
    """
    plan = plan_scan(data_dir, managed_dir)
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


def _walk(
    plan: ScanPlan,
    pool: ScanPool,
    previous: UsageScan | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    clock: Callable[[], float],
) -> WalkResult:
    started = clock()
    roots = plan.roots
    records: list[dict[str, tuple]] = [{} for _ in roots]
    links: list[list[tuple]] = [[] for _ in roots]
    problems: list[tuple[str, str, str]] = []
    mounts: list[tuple[int, str]] = []
    expected = None
    if previous is not None and previous.data_dir == plan.data_dir:
        expected = previous.entries
    days: dict[str, dict[int, int]] = {}
    counter = Progress(progress, expected)

    def store(
        root: int, found: list, found_links: list, found_mounts: list, seen: int, found_days: dict
    ) -> None:
        records[root].update((r[0], r) for r in found)
        links[root].extend(found_links)
        mounts.extend((root, rel) for rel in found_mounts)
        add_days(days, plan, root, found_days)
        counter.add(found, seen, sum(link[L_BLOCKS] for link in found_links))

    frontier = _seed(plan, pool.parallel * 4, store, problems)
    size_of = _previous_sizes(plan, previous)
    frontier.sort(key=lambda item: size_of(item[0], item[1]), reverse=True)
    parallel = pool.parallel
    budget = max(2_000, expected // (parallel * 8)) if expected else DEFAULT_BUDGET
    queue: deque[tuple[int, list[tuple[str, Own]]]] = deque(_split(frontier, 8 * parallel))
    with pool.session() as session:
        while queue or session.pending():
            while queue and session.idle():
                root, starts = queue.popleft()
                session.submit(root, (roots[root].path, roots[root].dev, starts, budget))
            for root, result in session.results(REPORT_EVERY):
                found, found_links, found_problems, found_mounts, left, seen, found_days = result
                store(root, found, found_links, found_mounts, seen, found_days)
                problems.extend(found_problems[: max(0, MAX_PROBLEMS - len(problems))])
                if left:
                    pieces = _split([(root, rel, own) for rel, own in left], 2 * parallel)
                    queue.extendleft(reversed(pieces))
            if cancel is not None and cancel.is_set():
                raise ScanCancelled()
            counter.report()
    counter.report(force=True)
    return WalkResult(
        plan=plan,
        records=records,
        links=links,
        problems=problems,
        mounts=mounts,
        days=days,
        entries=counter.entries,
        started_at=started,
        finished_at=clock(),
    )


def _seed(
    plan: ScanPlan,
    enough: int,
    store: Callable[[int, list, list, list, int, dict], None],
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
            found_days: dict[int, int] = {}
            record, subdirs, seen = list_directory(
                root.path, rel, own, root.dev, found_links, problems, found_mounts, found_days
            )
            store(
                index,
                [record],
                found_links,
                found_mounts,
                seen,
                {rel.partition("/")[0]: found_days},
            )
            deeper.extend((index, sub_rel, sub_own) for sub_rel, sub_own in subdirs)
        frontier = deeper
    return frontier


def _previous_sizes(plan: ScanPlan, previous: UsageScan | None) -> Callable[[int, str], int]:
    if previous is None:
        return lambda root, rel: 0
    where = {root.path: index for index, root in enumerate(previous.roots)}
    mapping = {i: where.get(root.path) for i, root in enumerate(plan.roots)}

    def size(root: int, rel: str) -> int:
        old = mapping.get(root)
        if old is None:
            return 0
        totals = previous.tree.totals(old, rel)
        return totals.files + totals.dirs

    return size


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
