"""The scan cache, format 5 and on: running sums for the totals, day histograms packed
narrow, the token at both ends. What a cache gives back must be what the scan found."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.usage.cache import cache_path, load_scan, load_walk, save_scan
from omero_tui.core.usage.format import by_month, day_to_date
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.quick import quick_rescan
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.table import RecordTable, subtree_sums
from omero_tui.core.usage.tree import UsageTree
from omero_tui.core.usage.walk import pack_hist, unpack_hist
from tests.bench.usage_tree import gnu_du, gnu_find_files, make_tricky_tree

DAY = 86400


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    return make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")


def put(path: Path, size: int, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def same_scan(a, b) -> None:  # noqa: ANN001
    """Every figure a report or a rescan reads, directory by directory."""
    assert a.totals == b.totals
    assert [(u.name, u.totals) for u in a.units] == [(u.name, u.totals) for u in b.units]
    assert dict(a.growth.by_mtime) == dict(b.growth.by_mtime)
    assert dict(a.growth.total_by_mtime) == dict(b.growth.total_by_mtime)
    assert dict(a.growth.managed_by_import) == dict(b.growth.managed_by_import)
    assert a.external_links == b.external_links and a.problems == b.problems
    assert a.nested_mounts == b.nested_mounts
    for root, records in enumerate(b.raw.records):
        assert dict(a.raw.records[root].items()) == dict(records.items())
        for rel in records:
            assert a.tree.totals(root, rel) == b.tree.totals(root, rel), rel
            assert a.tree.direct(root, rel) == b.tree.direct(root, rel), rel


@pytest.mark.parametrize(
    "hist",
    [
        {},
        {20_000: 8},
        {19_000: 1, 19_001: 2**32 - 1, 0: 0},
        {19_000: 2**16 - 1, 0: 0},
        {19_000: 2**16},
        {-3: 8, 20_000: 16},  # an mtime before 1970
        {65_536: 8},  # after 2149
        {20_000: 2**32},  # 2 TiB of one day in one directory
        {20_000: 2**62, -(2**40): 1},
    ],
)
def test_day_histograms_pack_narrow_and_unpack_the_same(hist) -> None:  # noqa: ANN001
    packed = pack_hist(hist)
    assert dict(unpack_hist(packed)) == hist and list(dict(unpack_hist(packed))) == list(hist)
    assert dict(unpack_hist(memoryview(packed))) == hist  # as a cache holds it
    days_fit = all(0 <= d < 2**16 for d in hist)
    per_day = 16  # wide: int64 pairs
    if days_fit and all(0 <= b < 2**16 for b in hist.values()):
        per_day = 4
    elif days_fit and all(0 <= b < 2**32 for b in hist.values()):
        per_day = 6
    assert len(packed) == (1 + per_day * len(hist) if hist else 0)


def test_a_cache_gives_back_what_the_scan_found(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    scan = scan_usage(str(tricky), pool=ScanPool(0))
    save_scan(scan, state)
    loaded = load_scan(state, str(tricky))
    assert loaded is not None
    assert all(t.prefix is not None for t in loaded.raw.records)
    same_scan(loaded, scan)
    assert loaded.totals.allocated_bytes == gnu_du(tricky)[0]


def test_mtimes_before_1970_and_after_2149_survive_the_cache_and_a_rescan(tmp_path) -> None:
    data = tmp_path / "OMERO"
    put(data / "Files/old/a", 5000, -40 * DAY)  # packed wide
    put(data / "Files/old/b", 7000, 1_700_000_000)
    put(data / "Files/far/c", 9000, 70_000 * DAY)  # after 2149: wide too
    put(data / "Pixels/p", 3000, 1_700_000_000)
    state = tmp_path / "state"
    first = scan_usage(str(data), pool=ScanPool(0))
    assert {-40, 70_000} <= set(first.growth.total_by_mtime)
    save_scan(first, state)
    put(data / "Files/old/d", 4000, 1_700_000_000)  # Files/old is listed again
    (data / "Files/far/c").unlink()
    walk = load_walk(state, str(data))
    assert walk is not None
    quick = quick_rescan(walk)
    assert quick.quick and quick.listed_dirs == 2 and quick.fallback is None
    full = scan_usage(str(data), pool=ScanPool(0))
    same_scan(quick, full)
    assert -40 in quick.growth.total_by_mtime and 70_000 not in quick.growth.total_by_mtime
    assert quick.totals.allocated_bytes == gnu_du(data)[0]


def test_a_cache_cut_short_anywhere_or_with_a_stranger_token_does_not_load(
    tricky,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    state = tmp_path / "state"
    path = save_scan(scan_usage(str(tricky), pool=ScanPool(0)), state)
    whole = path.read_bytes()
    assert load_walk(state, str(tricky)) is not None
    for keep in (len(whole) - 1, len(whole) - 16, len(whole) - 17, len(whole) // 2, 200, 0):
        path.write_bytes(whole[:keep])
        assert load_walk(state, str(tricky)) is None, keep
    path.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))  # the end names another file
    assert load_walk(state, str(tricky)) is None
    path.write_bytes(whole + b"more")
    assert load_walk(state, str(tricky)) is None
    path.write_bytes(whole)
    assert load_walk(state, str(tricky)) is not None


def test_names_that_sort_before_the_separator_keep_every_total_right(tmp_path) -> None:
    """ "-old", ".trash", "a b" sort before "/" (and so before the root's key): each
    directory's span must still be exactly what lies below it."""
    data = tmp_path / "OMERO"
    for i, rel in enumerate(
        [
            "-old/x",
            ".trash/y/z",
            "a b/f",
            "Pixels/1",
            "Pixels-old/2",
            "Pixels/Dir-1/3",
            "Pixels/Dir-1.bak/4",
            "Pixels/Dir-1 copy/5",
            "Pixels/Dir-1/sub/6",
        ]
    ):
        put(data / rel, 1000 * (i + 1))
    scan = scan_usage(str(data), pool=ScanPool(0))
    table = scan.raw.records[0]
    assert isinstance(table, RecordTable) and table.prefix is not None
    assert table.names[0] != ""  # the root is not the first row here
    for rel in table:
        assert scan.tree.totals(0, rel).allocated_bytes == gnu_du(data / rel)[0], rel
    assert scan.totals.files == gnu_find_files(data)
    plain = UsageTree(scan.roots, [dict(table.items())], scan.raw.links)
    assert all(plain.totals(0, rel) == scan.tree.totals(0, rel) for rel in table)


def test_a_table_that_misses_a_parent_sums_without_running_sums() -> None:
    def record(rel: str, files: int) -> tuple:
        return (rel, 1, 0, 0, 4096, 8, files, 100 * files, 8 * files, 0, b"")

    records = {"": record("", 1), "a": record("a", 2), "a/b/c": record("a/b/c", 4)}
    table = RecordTable.of(records)
    assert table.prefix is None  # a/b is missing: its child is counted in no total above it
    tree = UsageTree([], [table], [[]])  # type: ignore[list-item]
    summed = subtree_sums(records)
    assert tree.totals(0, "").files == summed[""][0] == 3
    assert tree.totals(0, "a/b/c").files == 4


def test_a_patched_table_keeps_running_sums_equal_to_a_full_scan(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    put(tricky / "Pixels/Dir-001/new/deeper/n", 30_000)
    (tricky / "Files/Dir-000/0").unlink()
    quick = quick_rescan(full)
    table = quick.raw.records[0]
    assert isinstance(table, RecordTable) and table.prefix is not None
    assert quick.listed_dirs >= 2 and table is not full.raw.records[0]
    again = scan_usage(str(tricky), pool=ScanPool(0))
    for rel in again.raw.records[0]:
        assert quick.tree.totals(0, rel) == again.tree.totals(0, rel), rel
    assert quick.totals.allocated_bytes == gnu_du(tricky)[0]


def test_months_are_the_days_summed_by_their_calendar_month() -> None:
    first, last = date(1, 1, 1), date(9999, 12, 31)
    edges = [
        date(1969, 12, 31),
        date(1970, 1, 1),
        date(2024, 2, 29),
        date(2024, 3, 1),
        date(2025, 12, 31),
        date(2026, 1, 1),
        first,
        last,
        date(9999, 11, 30),
    ]
    days = {(d - date(1970, 1, 1)).days: i + 1 for i, d in enumerate(edges)}
    days.update({n: 5 for n in range(19_000, 19_800, 7)})
    expected: dict[str, int] = {}
    for day in sorted(days):
        key = day_to_date(day).strftime("%Y-%m")
        expected[key] = expected.get(key, 0) + days[day]
    months = by_month(days)
    assert months == expected and list(months) == list(expected)
    assert by_month({}) == {}


def test_parts_are_written_one_after_another(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "f"
    write_atomic(path, [b"ab", memoryview(b"cd"), bytes(3), b"e" * 100_000], durable=False)
    assert path.read_bytes() == b"abcd" + bytes(3) + b"e" * 100_000
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_the_cache_is_smaller_than_int64_pairs_would_make_it(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    scan = scan_usage(str(tricky), pool=ScanPool(0))
    save_scan(scan, state)
    table = scan.raw.records[0]
    days = sum(len(unpack_hist(r[-1])) for r in table.values())
    rows = sum(1 for r in table.values() if r[-1])
    assert days and len(table.hist) == rows + 4 * days  # 4 bytes a day, not 16
    assert cache_path(state, str(tricky)).stat().st_size > 0


def test_a_rescan_leaves_the_earlier_scans_days_as_they_were(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    before = {name: dict(days) for name, days in full.raw.days.items()}
    unchanged = quick_rescan(full)
    assert unchanged.raw.days == before and full.raw.days == before
    put(tricky / "Pixels/Dir-001/later", 50_000, 1_790_000_000)
    (tricky / "Files/Dir-000/1").unlink()
    changed = quick_rescan(full)
    assert full.raw.days == before  # corrected in a copy
    again = scan_usage(str(tricky), pool=ScanPool(0))
    assert changed.raw.days == again.raw.days != before
    assert dict(changed.growth.by_mtime) == dict(again.growth.by_mtime)


def test_import_days_read_from_the_managed_span_are_those_of_all_rows(tricky) -> None:  # noqa: ANN001
    from omero_tui.core.usage.assemble import _import_days

    scan = scan_usage(str(tricky), pool=ScanPool(0))
    plain = UsageTree(scan.roots, [dict(r.items()) for r in scan.raw.records], scan.raw.links)
    days = _import_days(scan.tree, scan.raw.plan)
    assert days and days == _import_days(plain, scan.raw.plan)
    assert days == dict(scan.growth.managed_by_import)
