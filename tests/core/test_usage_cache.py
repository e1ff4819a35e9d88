"""The scan cache (format 3 and on): columns that load by directories, and a head for a rescan
that found nothing changed, so that what the console shows afterwards stays true."""

from __future__ import annotations

import marshal
import os
import shutil
import sys
from pathlib import Path

import pytest

from omero_tui.core.discovery import discover
from omero_tui.core.usage.cache import cache_path, head_path, load_walk, save_scan
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.quick import quick_rescan
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.service import UsageService
from omero_tui.core.usage.table import Blobs, RecordTable
from omero_tui.core.usage.tree import UsageTree
from tests.bench.usage_tree import gnu_du, make_tricky_tree


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    return make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")


class Clock:
    """A service clock that moves only when told: each scan's time is then known."""

    def __init__(self) -> None:
        self.at = 1_700_000_000.0

    def __call__(self) -> float:
        return self.at


def round_trip(table: RecordTable) -> RecordTable:
    blobs = Blobs()
    stored = table.dump(blobs)
    return RecordTable.load(stored, memoryview(b"".join(blobs.parts)))


def service(state: Path) -> UsageService:
    return UsageService(state, volumes=lambda scan: (), workers=0)


def test_a_table_reads_like_the_records_it_was_made_of(tricky) -> None:  # noqa: ANN001
    walk = scan_usage(str(tricky), pool=ScanPool(0)).raw
    records = walk.records[0]
    table = round_trip(RecordTable.of(records))
    assert len(table) == len(records) and sorted(table) == sorted(records)
    assert table.preorder
    names = table.names
    for i, rel in enumerate(names):  # each directory, then all below it, as one span
        if not rel:
            continue
        below = [n for n in names if n.startswith(rel + "/")]
        assert names[i + 1 : i + 1 + len(below)] == below
    assert dict(table.items()) == records
    fresh = round_trip(RecordTable.of(records))  # no dict built yet
    assert all(fresh[rel] == record for rel, record in records.items())
    assert fresh.get("no/such/dir") is None and "no/such/dir" not in fresh
    empty = round_trip(RecordTable.of({}))
    assert len(empty) == 0 and dict(empty.items()) == {}


def test_a_value_no_array_holds_keeps_its_column_a_list() -> None:
    huge = 1 << 70  # no filesystem gives such an inode number, but one must not crash us
    record = ("", huge, -5, 7, 4096, 8, 1, 10, 8, 0, b"")
    table = round_trip(RecordTable.of({"": record}))
    assert table[""] == record and isinstance(table.columns[0], list)


def test_totals_from_running_sums_are_the_ones_summed_bottom_up(tricky) -> None:  # noqa: ANN001
    scan = scan_usage(str(tricky), pool=ScanPool(0))
    records = [dict(r.items()) for r in scan.raw.records]  # plain dicts: summed bottom-up
    summed = UsageTree(scan.roots, records, scan.raw.links)
    tables = [round_trip(RecordTable.of(r)) for r in records]
    assert all(t.prefix is not None for t in tables)
    stored = UsageTree(scan.roots, tables, scan.raw.links)
    assert stored.repository == summed.repository == scan.totals
    for root, by_rel in enumerate(records):
        assert all(stored.totals(root, rel) == summed.totals(root, rel) for rel in by_rel)
        assert all(stored.direct(root, rel) == summed.direct(root, rel) for rel in by_rel)


@pytest.mark.parametrize("format_", [2, 3, 4, 5])
def test_an_older_cache_is_ignored_and_the_next_scan_is_full(tricky, tmp_path, format_) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    path = cache_path(state, str(tricky))
    path.parent.mkdir(parents=True)
    if format_ == 2:
        tag = f"omero-tui usage cache 2 {sys.version_info[:2]}"
        path.write_bytes(marshal.dumps({"tag": tag, "data_dir": str(tricky)}))
    elif format_ == 3:  # 3: the tag line, a token, then marshal
        tag = f"omero-tui usage cache 3 {sys.version_info[:2]} {sys.byteorder}\n".encode()
        path.write_bytes(tag + bytes(16) + marshal.dumps({"data_dir": str(tricky)}))
    else:  # 4 and 5: the tag, a token, the marshalled part's length, it, the columns
        tag = f"omero-tui usage cache {format_} {sys.version_info[:2]} {sys.byteorder}\n"
        tag = tag.encode()
        body = marshal.dumps({"data_dir": str(tricky)})
        path.write_bytes(tag + bytes(16) + len(body).to_bytes(8, "little") + body + bytes(16))
    assert load_walk(state, str(tricky)) is None
    location = discover(data_dir_arg=str(tricky), candidates=(), env={})
    with service(state) as usage:
        report = usage.scan(location, quick=True)
    assert not report.scan.quick and report.scan.totals.allocated_bytes == gnu_du(tricky)[0]
    assert load_walk(state, str(tricky)) is not None  # replaced by one of this format


def test_an_unchanged_rescan_writes_a_head_and_the_console_shows_it(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    location = discover(data_dir_arg=str(tricky), candidates=(), env={})
    with service(state) as usage:
        full = usage.scan(location).scan
    path = cache_path(state, str(tricky))
    body = path.read_bytes()
    with service(state) as usage:  # a new process: from the cache
        quick = usage.scan(location, quick=True).scan
    assert quick.quick and quick.listed_dirs == 0
    assert path.read_bytes() == body and head_path(path).exists()  # records not rewritten
    with service(state) as usage:
        shown = usage.last_report(location)
        assert shown is not None
        assert shown.scan.quick and shown.scan.finished_at == quick.finished_at
        assert shown.scan.started_at == quick.started_at
        assert shown.scan.full_scan_at == full.started_at
        assert shown.scan.reused_dirs == full.totals.dirs and shown.scan.listed_dirs == 0
        assert shown.scan.totals == full.totals
        # The same service's next unchanged rescan also keeps the records file.
        again = usage.scan(location, quick=True).scan
    assert path.read_bytes() == body
    with service(state) as usage:
        shown = usage.last_report(location)
        assert shown is not None and shown.scan.finished_at == again.finished_at


def test_a_change_or_a_full_scan_rewrites_the_records_and_drops_the_head(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    location = discover(data_dir_arg=str(tricky), candidates=(), env={})
    path = cache_path(state, str(tricky))
    with service(state) as usage:
        usage.scan(location)
        usage.scan(location, quick=True)
        assert head_path(path).exists()
        (tricky / "Files/new").write_bytes(b"n" * 5000)
        changed = usage.scan(location, quick=True).scan
        assert changed.quick and changed.listed_dirs >= 1
        assert not head_path(path).exists()
        usage.scan(location, quick=True)
        assert head_path(path).exists()
        full = usage.scan(location).scan
    assert not head_path(path).exists()
    with service(state) as usage:
        shown = usage.last_report(location)
        assert shown is not None and not shown.scan.quick
        assert shown.scan.finished_at == full.finished_at


def test_a_head_left_beside_another_records_file_is_ignored(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    first = scan_usage(str(tricky), pool=ScanPool(0))
    save_scan(first, state)
    walk = load_walk(state, str(tricky))
    assert walk is not None
    quick = quick_rescan(walk)
    assert quick.raw.stored_as == walk.stored_as
    path = save_scan(quick, state)
    head = head_path(path).read_bytes()
    save_scan(scan_usage(str(tricky), pool=ScanPool(0)), state)  # another records file
    head_path(path).write_bytes(head)  # as if a crash came between the two writes
    loaded = load_walk(state, str(tricky))
    assert loaded is not None and not loaded.quick


def test_progress_counts_each_directory_once_when_the_rescan_must_list(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    (tricky / "Pixels/new").write_bytes(b"p" * 3000)
    seen = []
    quick = quick_rescan(full, progress=seen.append)
    assert quick.quick and quick.listed_dirs >= 1
    assert seen and seen[-1].dirs == quick.totals.dirs


def test_an_unchanged_rescan_from_memory_matches_one_from_the_cache(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    full = scan_usage(str(tricky), pool=ScanPool(0))
    save_scan(full, state)
    walk = load_walk(state, str(tricky))
    assert walk is not None
    from_memory, from_cache = quick_rescan(full), quick_rescan(walk)
    for quick in (from_memory, from_cache):
        assert quick.totals == full.totals and quick.listed_dirs == 0
        assert quick.problems == full.problems and quick.external_links == full.external_links
        assert quick.nested_mounts == full.nested_mounts
    assert [u.totals for u in from_memory.units] == [u.totals for u in from_cache.units]
    assert os.stat(cache_path(state, str(tricky))).st_mode & 0o777 == 0o600


def same_everywhere(quick, full) -> None:  # noqa: ANN001
    """Every directory's record and totals, the days, links, problems: as a full scan's."""
    assert quick.totals == full.totals
    assert [(u.name, u.totals) for u in quick.units] == [(u.name, u.totals) for u in full.units]
    for root, records in enumerate(full.raw.records):
        assert dict(quick.raw.records[root].items()) == dict(records.items())
        for rel in records:
            assert quick.tree.totals(root, rel) == full.tree.totals(root, rel), rel
    assert dict(quick.growth.by_mtime) == dict(full.growth.by_mtime)
    assert dict(quick.growth.total_by_mtime) == dict(full.growth.total_by_mtime)
    assert dict(quick.growth.managed_by_import) == dict(full.growth.managed_by_import)
    assert quick.external_links == full.external_links
    assert sorted(quick.problems) == sorted(full.problems)
    assert quick.raw.pyramid_locks == full.raw.pyramid_locks


def test_changed_spans_are_walked_again_and_spliced_in(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    save_scan(scan_usage(str(tricky), pool=ScanPool(0)), state)
    changes = [
        lambda: (tricky / "Pixels/Dir-001/2001").write_bytes(b"n" * 70_000),
        lambda: (tricky / "Thumbnails/Dir-009/deeper/still").mkdir(parents=True),
        lambda: (tricky / "Thumbnails/Dir-009/deeper/still/t").write_bytes(b"t" * 5000),
        lambda: os.rename(tricky / "Files/Dir-000", tricky / "Files/Dir-moved"),
        lambda: (tricky / "Pixels/.9_pyramid.pyr_lock").write_bytes(b""),
        lambda: os.link(tricky / "Files/shared", tricky / "Pixels/Dir-001/linked"),
        lambda: (tricky / "Pixels/deep/a/b/c/d/new").write_bytes(b"d" * 12_000),
        lambda: (tricky / "Pixels/deep/a/b/c/d/new").unlink(),
    ]
    for change in changes:
        change()
        walk = load_walk(state, str(tricky))
        assert walk is not None
        quick = quick_rescan(walk)
        assert quick.quick and quick.fallback is None and quick.listed_dirs >= 1
        assert isinstance(quick.raw.records[0], RecordTable)  # spliced, not walked from the top
        full = scan_usage(str(tricky), pool=ScanPool(0))
        same_everywhere(quick, full)
        assert quick.totals.allocated_bytes == gnu_du(tricky)[0]
        again = quick_rescan(quick)  # and from memory, spliced once more: nothing new
        same_everywhere(again, full)
        save_scan(quick, state)


def test_a_subtree_removed_or_replaced_by_a_file_is_dropped(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    shutil.rmtree(tricky / "BioFormatsCache/x")
    shutil.rmtree(tricky / "Pixels/deep/a/b")
    shutil.rmtree(tricky / "ManagedRepository/user-3_3/2026-05")
    (tricky / "ManagedRepository/user-3_3/2026-05").write_bytes(b"now a file")
    quick = quick_rescan(full)
    assert isinstance(quick.raw.records[0], RecordTable)
    same_everywhere(quick, scan_usage(str(tricky), pool=ScanPool(0)))


def test_a_change_at_the_top_walks_from_the_top(tricky) -> None:  # noqa: ANN001
    full = scan_usage(str(tricky), pool=ScanPool(0))
    (tricky / "new-top").mkdir()
    (tricky / "new-top/f").write_bytes(b"f" * 9000)
    quick = quick_rescan(full)
    assert quick.quick and quick.listed_dirs >= 2
    same_everywhere(quick, scan_usage(str(tricky), pool=ScanPool(0)))


def test_a_cache_cut_short_in_its_columns_is_ignored(tricky, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    path = save_scan(scan_usage(str(tricky), pool=ScanPool(0)), state)
    whole = path.read_bytes()
    assert load_walk(state, str(tricky)) is not None
    path.write_bytes(whole[:-8])  # the marshalled part whole, the last column short
    assert load_walk(state, str(tricky)) is None
    path.write_bytes(whole[: len(whole) * 3 // 4])
    assert load_walk(state, str(tricky)) is None
    path.write_bytes(whole)
    assert load_walk(state, str(tricky)) is not None


def test_a_subdirectory_changed_after_the_first_look_is_listed_too(tricky, monkeypatch) -> None:  # noqa: ANN001
    """Its lstat matched, then it changed before its (changed) parent was listed: the
    parent's listing shows it changed, and it is listed in its turn."""
    from omero_tui.core.usage import storedwalk

    full = scan_usage(str(tricky), pool=ScanPool(0))
    (tricky / "Pixels/deep/a/new").write_bytes(b"a" * 4000)  # a changes
    real = storedwalk.list_directory

    def late_change(root, rel, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if rel == "Pixels/deep/a":  # b changes now, after its first look
            (tricky / "Pixels/deep/a/b/late").write_bytes(b"b" * 6000)
        return real(root, rel, *args, **kwargs)

    monkeypatch.setattr(storedwalk, "list_directory", late_change)
    quick = quick_rescan(full)
    assert isinstance(quick.raw.records[0], RecordTable)
    assert {rel for _, rel in quick.raw.listed} >= {"Pixels/deep/a", "Pixels/deep/a/b"}
    same_everywhere(quick, scan_usage(str(tricky), pool=ScanPool(0)))
