"""Blocks by day are kept in the workers over a scan's tasks and handed over once."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.walk import own_of
from omero_tui.core.usage.worker import DAYS, WALK, read_frame, serve, write_frame
from tests.bench.usage_tree import make_tree


def test_days_from_workers_equal_days_walked_in_process(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "OMERO", 3_000, 120)
    here = scan_usage(str(tree), pool=ScanPool(0))
    with ScanPool(2, inline=0) as pool:  # several tasks per worker, days kept over them
        pool_scan = scan_usage(str(tree), pool=pool)
        again = scan_usage(str(tree), pool=pool)  # a second scan counts nothing twice
    assert here.raw.days and pool_scan.raw.days == here.raw.days == again.raw.days
    assert pool_scan.growth == here.growth


def _answers(requests: list[object]) -> list[object]:
    """What a worker answers to ``requests``, its input ending after them."""
    to_worker, into = os.pipe()
    out, from_worker = os.pipe()
    for request in requests:
        write_frame(into, request)
    os.close(into)
    assert gc.isenabled()
    assert serve(to_worker, from_worker) == 0
    assert gc.isenabled()  # a worker runs without the collector; this process gets it back
    os.close(to_worker)
    os.close(from_worker)
    answers = []
    try:
        while True:
            answers.append(read_frame(out))
    except EOFError:
        os.close(out)
    return answers


def test_a_worker_starts_afresh_for_a_new_scan(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "OMERO", 200, 10)
    task = (str(tree), os.lstat(tree).st_dev, [("", own_of(os.lstat(tree)))], 10**6)
    answers = _answers(
        [
            (WALK, 1, task),  # a scan cancelled before it asked for its days
            (WALK, 2, task),
            (DAYS, 2),
            (DAYS, 2),  # handed over once
        ]
    )
    (status1, walked1), (status2, walked2), (_, kept), (_, again) = answers
    assert status1 == status2 == "ok"
    assert walked1[6] == walked2[6] == {}  # days stay in the worker
    assert kept and set(kept) == {str(tree)}
    by_day: dict[int, int] = {}
    for counts in kept[str(tree)].values():
        for day, blocks in counts.items():
            by_day[day] = by_day.get(day, 0) + blocks
    alone = scan_usage(str(tree), pool=ScanPool(0)).raw.days
    assert sum(by_day.values()) == sum(sum(c.values()) for c in alone.values())  # not twice
    assert again == {}
