"""The usage scan matched to the storage: threads on a share, a small tree walked here.

The share is real: a FUSE mirror that delays every metadata call (tests/bench/latency_fs,
the benchmark's), mounted for the test when root and /dev/fuse allow it. du and find
run on the same mount, so the totals are compared through the same round trips.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.usage.cache import load_walk, save_scan
from omero_tui.core.usage.format import clock_words, progress_words, text_bar
from omero_tui.core.usage.model import ScanCancelled, UsageProgress
from omero_tui.core.usage.plan import plan_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.threads import ThreadStats, _Shared, _Tuner, is_remote, remote_roots
from tests.bench.usage_tree import gnu_du, gnu_find_files, make_tree, make_tricky_tree


def assert_like_du(path: Path, totals) -> None:  # noqa: ANN001
    assert (totals.allocated_bytes, totals.apparent_bytes, totals.files) == (
        gnu_du(path)[0],
        gnu_du(path, apparent=True)[0],
        gnu_find_files(path),
    ), path


@pytest.fixture
def share(tmp_path: Path) -> Iterator[Path]:
    """A tricky repository behind a latency mirror (0.2 ms a call), mounted for the test."""
    from tests.bench.latency_fs import available, mounted

    reason = available()
    if reason is None and os.geteuid() != 0:
        reason = "mounting FUSE here needs root"
    if reason:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    backing = make_tricky_tree(tmp_path / "backing/OMERO", outside=tmp_path / "backing/elsewhere")
    mountpoint = tmp_path / "share"
    try:
        with mounted(backing.parent, mountpoint, 0.2, threads=32) as where:
            yield where / "OMERO"
    except RuntimeError as err:  # a container that refuses FUSE mounts
        print(f"skipped: {err}")
        pytest.skip(str(err))


def test_a_fuse_share_is_walked_by_threads_and_totals_equal_du_on_it(share) -> None:  # noqa: ANN001
    seen: list[UsageProgress] = []
    assert remote_roots(plan_scan(str(share))) == [str(share)]
    scan = scan_usage(str(share), pool=ScanPool(0), progress=seen.append)
    assert seen and seen[-1].in_flight is not None  # the threads, not the pool, walked it
    assert_like_du(share, scan.totals)
    for unit in scan.units:
        assert_like_du(Path(unit.path), unit.totals)
    assert scan.totals.dirs == sum(1 for _ in os.walk(share))
    assert scan.external_links.files == 1  # the hard link outside, through FUSE too


def test_the_same_share_walked_by_processes_gives_the_same_figures(share) -> None:  # noqa: ANN001
    threads = scan_usage(str(share), pool=ScanPool(0))
    with ScanPool(2, inline=0) as pool:
        processes = scan_usage(str(share), pool=pool, concurrency="processes")
    assert threads.totals == processes.totals
    assert [u.totals for u in threads.units] == [u.totals for u in processes.units]


def test_local_tree_forced_into_threads_equals_du_for_every_directory(tmp_path) -> None:  # noqa: ANN001
    tree = make_tree(tmp_path / "big", 3_000, 150)
    scan = scan_usage(str(tree), pool=ScanPool(0), concurrency="threads")
    assert_like_du(tree, scan.totals)
    for top, _, _ in os.walk(tree):
        rel = os.path.relpath(top, tree)
        totals = scan.tree.totals(0, "" if rel == "." else rel)
        assert totals.allocated_bytes == gnu_du(top)[0], rel


def test_a_cancelled_threaded_scan_raises(tmp_path) -> None:  # noqa: ANN001
    tree = make_tricky_tree(tmp_path / "OMERO")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ScanCancelled):
        scan_usage(str(tree), pool=ScanPool(0), concurrency="threads", cancel=cancel)


def test_mount_types_that_are_round_trips() -> None:
    for remote in ("nfs", "nfs4", "cifs", "smb3", "gpfs", "lustre", "fuse.sshfs", "fuseblk"):
        assert is_remote(remote), remote
    for local in ("ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay"):
        assert not is_remote(local), local


def _tuner_windows(start: int) -> tuple:
    """A tuner on a long queue, and a way to feed it one window of measured entries."""
    import omero_tui.core.usage.threads as threads

    shared = _Shared([(0, str(i), (0, 0, 0, 0, 0)) for i in range(500)], start)
    stats = ThreadStats(level=start)
    tuner = _Tuner(shared, stats, maximum=128)
    clock = [0.0]
    tuner.mark = 0.0

    def window(entries: int) -> bool:
        clock[0] += 1.0
        shared.seen += entries
        real = threads.time.monotonic
        threads.time.monotonic = lambda: clock[0]  # type: ignore[assignment]
        try:
            return tuner.adjust()
        finally:
            threads.time.monotonic = real  # type: ignore[assignment]

    return shared, stats, window


def test_the_number_of_threads_grows_while_it_pays_and_steps_back_when_not() -> None:
    shared, stats, window = _tuner_windows(16)
    assert window(1000) and shared.level == 24  # the first measure: try more
    assert window(1500) and shared.level == 36  # 50 % more a second: more again
    assert not window(1500) and shared.level == 24  # nothing gained: back, and settled
    assert not window(3000) and shared.level == 24
    assert stats.level == 24


def test_a_fast_share_gets_fewer_threads_when_more_bring_nothing() -> None:
    shared, stats, window = _tuner_windows(24)
    assert window(1000) and shared.level == 36
    assert not window(1000) and shared.level == 12  # more brought nothing: try fewer
    assert not window(1200) and shared.level == 6  # fewer did better: fewer still
    assert not window(1100) and shared.level == 12  # that was too few: back, settled
    assert not window(5000) and stats.level == 12


def test_a_small_tree_starts_no_worker_and_a_large_one_does(tmp_path) -> None:  # noqa: ANN001
    tree = make_tricky_tree(tmp_path / "OMERO")
    with ScanPool(2) as pool:
        small = scan_usage(str(tree), pool=pool)
        assert pool.started == 0  # walked here, before a worker would have started
    with ScanPool(2, inline=10) as pool:
        large = scan_usage(str(tree), pool=pool)
        assert pool.started == 2  # "large" past 10 entries: the rest went to the workers
    assert small.totals == large.totals
    assert_like_du(tree, large.totals)


def test_quick_cache_grows_with_directories_not_files(tmp_path) -> None:  # noqa: ANN001
    tree = make_tree(tmp_path / "OMERO", 2_000, 100)
    state = tmp_path / "state"
    first = scan_usage(str(tree), pool=ScanPool(0))
    before = save_scan(first, state).stat().st_size
    crowded = tree / "Pixels" / "Dir-000"
    stamp = os.stat(crowded).st_mtime
    for i in range(5_000):  # 5k more files, all of one day, in a directory that exists
        path = crowded / f"more-{i}"
        path.write_bytes(b"x" * 100)
        os.utime(path, (stamp, stamp))
    after = save_scan(scan_usage(str(tree), pool=ScanPool(0)), state).stat().st_size
    assert after - before < 200, (before, after)  # a per-file record would be > 100 kB
    walk = load_walk(state, str(tree))
    assert walk is not None and sum(len(r) for r in walk.records) == first.totals.dirs


def test_progress_words_have_files_a_second_and_an_eta() -> None:
    progress = UsageProgress(50_000, 2_000, 3 << 30, 10.0, 5_000.0, 200_000, files=48_000)
    words = progress_words(progress)
    assert words.startswith("25% 48,000 files, 3.0 GiB, 4,800 files/s, ETA 0:30")
    assert text_bar(0.25, 8) == "[##......]"
    threads = UsageProgress(10, 1, 0, 1.0, 10.0, None, files=9, in_flight=32)
    assert progress_words(threads).endswith("0:01 so far (32 requests in flight)")
    assert clock_words(3725) == "1:02:05"
