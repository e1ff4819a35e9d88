"""The usage scan against the real GNU du and find, on real trees with every awkward case."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from omero_tui.core.usage.format import date_to_day
from omero_tui.core.usage.model import ScanCancelled, UsageProgress
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.report import scan_findings
from omero_tui.core.usage.scan import scan_usage
from tests.bench.usage_tree import gnu_du, gnu_find_files, make_tricky_tree
from tests.mountkit import mount_tmpfs, unmount


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    return make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")


def assert_like_du(path: Path, totals) -> None:  # noqa: ANN001
    allocated, _ = gnu_du(path)
    apparent, _ = gnu_du(path, apparent=True)
    assert (totals.allocated_bytes, totals.apparent_bytes, totals.files) == (
        allocated,
        apparent,
        gnu_find_files(path),
    ), path


@pytest.mark.parametrize(
    ("workers", "fork", "concurrency"),
    [(0, None, "processes"), (2, False, "processes"), (2, True, "processes"), (0, None, "threads")],
    ids=["in-process", "two-spawned-workers", "two-forked-workers", "threads"],
)
def test_totals_equal_du_and_find_for_repository_and_every_row(
    tricky, workers, fork, concurrency
) -> None:  # noqa: ANN001
    with ScanPool(workers, inline=0, fork=fork) as pool:
        scan = scan_usage(str(tricky), pool=pool, concurrency=concurrency)
    assert_like_du(tricky, scan.totals)
    names = [u.name for u in scan.units]
    assert names[:6] == [
        "Pixels",
        "Files",
        "Thumbnails",
        "FullText",
        "ManagedRepository",
        "BioFormatsCache",
    ]
    for unit in scan.units:
        assert unit.kind == "directory"
        assert_like_du(Path(unit.path), unit.totals)
    assert scan.totals.dirs == sum(1 for _ in os.walk(tricky))
    assert scan.totals.errors == 0  # root reads the mode-000 directory, like du as root


def test_every_directory_equals_du_of_that_directory(tricky) -> None:  # noqa: ANN001
    """Hard links count once in each directory holding a path of them, like ``du -s DIR``."""
    scan = scan_usage(str(tricky), pool=ScanPool(0))
    for top, _, _ in os.walk(tricky):
        rel = os.path.relpath(top, tricky)
        totals = scan.tree.totals(0, "" if rel == "." else rel)
        assert (totals.allocated_bytes, totals.apparent_bytes) == (
            gnu_du(top)[0],
            gnu_du(top, apparent=True)[0],
        ), rel


def test_hard_links_once_and_links_outside_reported(tricky, tmp_path) -> None:  # noqa: ANN001
    scan = scan_usage(str(tricky), pool=ScanPool(0))
    links = scan.external_links
    assert links.files == 1
    assert links.allocated_bytes == os.stat(tmp_path / "elsewhere/original.czi").st_blocks * 512
    assert links.examples[0].endswith("big.czi")
    # Files/shared has three paths in the repository and no other: not "outside".
    files = scan.unit("Files")
    assert files is not None and files.totals.files == 32


def test_mounts_below_are_left_out_like_du_x_and_reported(tricky, tmp_path) -> None:  # noqa: ANN001
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    nested = tricky / "Pixels/Dir-001/mounted"
    nested.mkdir()
    top = tricky / "DropBox"
    top.mkdir()
    mounted: list[Path] = []
    try:
        for where in (nested, top):
            mount_tmpfs(where, "size=4m")
            mounted.append(where)
        (nested / "hidden").write_bytes(b"x" * 50_000)
        (top / "upload").write_bytes(b"y" * 70_000)
        scan = scan_usage(str(tricky), pool=ScanPool(2, inline=0))
        pixels = scan.unit("Pixels")
        assert pixels is not None
        assert_like_du(tricky / "Pixels", pixels.totals)
        assert scan.nested_mounts == (str(nested),)
        dropbox = scan.unit("DropBox")
        assert dropbox is not None and dropbox.kind == "mount point"
        assert_like_du(top, dropbox.totals)
        # The repository is the data dir (du -x) plus the followed mount point.
        allocated, _ = gnu_du(tricky)
        assert scan.totals.allocated_bytes == allocated + dropbox.totals.allocated_bytes
    finally:
        for where in reversed(mounted):
            unmount(where, check=False)


def test_symlinked_subdirectory_is_scanned_at_its_target(tricky, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "bigdisk/Thumbnails"
    (tricky / "Thumbnails").rename(target.parent.mkdir(parents=True) or target)
    (tricky / "Thumbnails").symlink_to(target)
    managed = tmp_path / "managed"
    make_tricky_tree(tmp_path / "other")
    (tmp_path / "other/ManagedRepository").rename(managed)
    scan = scan_usage(str(tricky), str(managed), pool=ScanPool(2, inline=0))
    thumbs = scan.unit("Thumbnails")
    assert thumbs is not None and thumbs.kind == "symlink" and thumbs.target == str(target)
    assert_like_du(target, thumbs.totals)
    outside = scan.unit("managed dir")
    assert outside is not None and outside.kind == "managed dir elsewhere"
    assert_like_du(managed, outside.totals)
    assert scan.growth.managed_unit == "managed dir"


def gnu_du_total(*paths: Path, apparent: bool = False) -> int:
    """du -s -c -x over several trees: a hard link met in two of them counts once."""
    args = ["du", "-s", "-c", "-x", "-b" if apparent else "-B1", *map(str, paths)]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return int(result.stdout.splitlines()[-1].split()[0])


def test_symlinked_rows_into_one_tree_are_walked_once(tricky, tmp_path) -> None:  # noqa: ANN001
    """Alpha leads inside Beta's target: its files are Beta's too, not a second walk."""
    outer = tmp_path / "big/x"
    (outer / "y").mkdir(parents=True)
    (outer / "y/inner").write_bytes(b"i" * 70_000)
    (outer / "outer").write_bytes(b"o" * 30_000)
    (tricky / "Alpha").symlink_to(outer / "y")  # sorts (and is listed) before Beta
    (tricky / "Beta").symlink_to(outer)
    scan = scan_usage(str(tricky), pool=ScanPool(2, inline=0))
    assert [r.path for r in scan.roots] == [str(tricky), str(outer)]
    alpha, beta = scan.unit("Alpha"), scan.unit("Beta")
    assert alpha is not None and beta is not None
    assert (alpha.root, alpha.rel, beta.root, beta.rel) == (1, "y", 1, "")
    assert_like_du(outer / "y", alpha.totals)
    assert_like_du(outer, beta.totals)
    assert scan.totals.allocated_bytes == gnu_du_total(tricky, outer)
    assert scan.totals.apparent_bytes == gnu_du_total(tricky, outer, apparent=True)
    assert scan.totals.files == gnu_find_files(tricky) + gnu_find_files(outer)


def test_managed_dir_on_its_own_mount_with_a_symlink_into_it(tricky) -> None:  # noqa: ANN001
    """A row led into a top-level mount is walked there (not looked for in the data dir's
    walk, which stops at the mount), and the import dates come from the mounted tree."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    managed = tricky / "ManagedRepository"
    shutil.rmtree(managed)
    managed.mkdir()
    mount_tmpfs(managed, "size=4m")
    try:
        fileset = managed / "user-3_3/2026-05/20/10-00-00.000"
        fileset.mkdir(parents=True)
        (fileset / "img.tif").write_bytes(b"m" * 60_000)
        (managed / "pixels").mkdir()
        (managed / "pixels/p1").write_bytes(b"p" * 50_000)
        shutil.rmtree(tricky / "Pixels")
        (tricky / "Pixels").symlink_to(managed / "pixels")
        scan = scan_usage(str(tricky), pool=ScanPool(2, inline=0))
        pixels, rows = scan.unit("Pixels"), scan.unit("ManagedRepository")
        assert pixels is not None and rows is not None and rows.kind == "mount point"
        assert (pixels.root, pixels.rel) == (rows.root, "pixels")
        assert_like_du(managed / "pixels", pixels.totals)
        assert_like_du(managed, rows.totals)
        assert scan.growth.managed_unit == "ManagedRepository"
        assert scan.growth.managed_by_import == {
            date_to_day(date(2026, 5, 20)): gnu_du(managed / "user-3_3/2026-05/20")[0]
        }
        assert scan.nested_mounts == ()
        assert scan.totals.allocated_bytes == gnu_du_total(tricky, managed)
    finally:
        unmount(managed, check=False)


def test_growth_by_modification_day_and_import_date(tricky) -> None:  # noqa: ANN001
    scan = scan_usage(str(tricky), pool=ScanPool(2, inline=0))
    growth = scan.growth
    day = 1_780_000_000 // 86400
    pyramid = os.stat(tricky / "Pixels/Dir-001/1003_pyramid").st_blocks * 512
    assert growth.by_mtime["Pixels"][day - 40] == pyramid
    assert growth.managed_unit == "ManagedRepository"
    managed = tricky / "ManagedRepository"
    assert growth.managed_by_import == {
        date_to_day(date(2026, 4, 1)): gnu_du(managed / "user-2_2/2026-04/01")[0],
        date_to_day(date(2026, 5, 20)): gnu_du(managed / "user-3_3/2026-05/20")[0],
        date_to_day(date(2026, 5, 21)): gnu_du(managed / "user-3_3/2026-05/21")[0],
    }


def test_progress_is_throttled_and_ends_with_the_totals(tricky) -> None:  # noqa: ANN001
    seen: list[UsageProgress] = []
    scan = scan_usage(str(tricky), pool=ScanPool(0), progress=seen.append)
    assert seen, "no progress reported"
    assert seen[-1].entries == scan.entries
    assert seen[-1].dirs == scan.totals.dirs
    assert len(seen) <= 2 + int(max(p.elapsed for p in seen) * 10) + 1
    again: list[UsageProgress] = []
    scan_usage(str(tricky), pool=ScanPool(0), previous=scan, progress=again.append)
    assert again[-1].fraction == 1.0


def test_cancel_stops_the_scan_and_raises(tricky) -> None:  # noqa: ANN001
    cancel = threading.Event()
    cancel.set()
    with ScanPool(2) as pool, pytest.raises(ScanCancelled):
        scan_usage(str(tricky), pool=pool, cancel=cancel)
        # The pool survives a cancelled scan: the next one runs on it.
    with ScanPool(2, inline=0) as pool:
        with pytest.raises(ScanCancelled):
            scan_usage(str(tricky), pool=pool, cancel=cancel)
        assert scan_usage(str(tricky), pool=pool).totals.files > 0


def test_a_killed_worker_is_replaced_and_workers_end_with_the_pool(tricky) -> None:  # noqa: ANN001
    # The console's pool: its (spawned) workers outlive a scan, so one can die between two.
    with ScanPool(2, inline=0, fork=False) as pool:
        scan_usage(str(tricky), pool=pool)
        workers = [w.process for w in pool._procs]
        workers[0].kill()
        workers[0].wait()
        scan = scan_usage(str(tricky), pool=pool)  # retried on fresh workers
        assert_like_du(tricky, scan.totals)
        workers += [w.process for w in pool._procs]
        assert len(pool._procs) == 2 and workers[0] not in workers[2:]
    assert all(process.poll() is not None for process in workers)


def test_a_headless_scan_lets_its_forked_workers_go_and_close_reaps_them(tricky) -> None:  # noqa: ANN001
    with ScanPool(2, inline=0, fork=True) as pool:
        scan_usage(str(tricky), pool=pool)
        assert pool.started == 2 and not pool.running
        leaving = [w.process for w in pool._leaving]
        assert len(leaving) == 2
        scan = scan_usage(str(tricky), pool=pool)  # a second scan forks afresh
        assert_like_du(tricky, scan.totals)
        assert pool.started == 4
        leaving += [w.process for w in pool._leaving]
    assert all(process.poll() is not None for process in leaving)
    assert not pool._leaving


CLOSED_STDIN_SCAN = """
import json, os, sys
os.close(0)  # a caller that closed our stdin: the workers' first pipe end is then fd 0
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
with ScanPool(2, inline=0, fork=True) as pool:
    scan = scan_usage(sys.argv[1], pool=pool)
    print(json.dumps([pool.started, scan.totals.allocated_bytes, scan.totals.files]))
"""


def test_forked_workers_keep_their_pipes_when_stdin_was_closed(tricky) -> None:  # noqa: ANN001
    """A forked child points stdin and stdout at /dev/null, but never a pipe it uses."""
    done = subprocess.run(
        [sys.executable, "-c", CLOSED_STDIN_SCAN, str(tricky)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    started, allocated, files = json.loads(done.stdout)
    assert started == 2
    assert (allocated, files) == (gnu_du(tricky)[0], gnu_find_files(tricky))


def test_workers_killed_under_a_cancelled_scan_are_not_replaced(tricky) -> None:  # noqa: ANN001
    """The panel going away cancels, then closes the pool under the running scan: the
    dead workers must end the scan, not be replaced by fresh ones nobody will close."""
    with ScanPool(2, inline=0) as pool:
        pool.start()
        dead = [w.process for w in pool._procs]
        for process in dead:
            process.kill()
            process.wait()
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(ScanCancelled):
            scan_usage(str(tricky), pool=pool, cancel=cancel)
        assert len(dead) == 2 and all(w.process in dead for w in pool._procs)
        assert pool.started == 2  # none started after the first two


def test_missing_data_dir_is_a_one_line_error(tmp_path) -> None:  # noqa: ANN001
    from omero_tui.core.usage.plan import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        scan_usage(str(tmp_path / "nope"), pool=ScanPool(0))


SERVER_UID = 65534  # nobody: stands in for the server user, who is not root


@pytest.fixture
def open_tree() -> Iterator[Path]:
    """A tricky tree the server user can reach (pytest's tmp_path is root's alone)."""
    base = Path(tempfile.mkdtemp(prefix="omero-tui-usage-"))
    base.chmod(0o755)
    try:
        yield make_tricky_tree(base / "OMERO")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_errors_for_what_the_server_user_cannot_read_equal_du(open_tree) -> None:  # noqa: ANN001
    if os.geteuid() != 0:
        pytest.skip("needs root, to run du and the scan as another user")
    private = open_tree / "Pixels/private"  # root's alone: the server user cannot list it
    private.mkdir(mode=0o700)
    (private / "a").write_bytes(b"a" * 10_000)
    listable = open_tree / "Files/no-search"  # names readable, entries not: one error each
    listable.mkdir()
    for name in ("x", "y", "z"):
        (listable / name).write_bytes(b"b" * 3000)
    listable.chmod(0o744)
    allocated, du_errors = gnu_du(open_tree, user=SERVER_UID)
    apparent, _ = gnu_du(open_tree, apparent=True, user=SERVER_UID)
    found = _scan_as(SERVER_UID, open_tree)
    assert du_errors == 2 + 3  # locked (mode 000) and private unreadable, x y z unreachable
    assert found["errors"] == du_errors
    assert (found["allocated"], found["apparent"]) == (allocated, apparent)
    assert found["files"] == gnu_find_files(open_tree, user=SERVER_UID)
    assert any(p.endswith("Pixels/private") for p in found["problem_paths"])
    assert found["findings"]["usage.scan_errors"] == "warning"


def test_an_unreadable_lost_found_alone_is_a_note(open_tree) -> None:  # noqa: ANN001
    """A volume's own lost+found (root's, mode 700) is no repository data: counted as an
    error like du does, but no WARNING on every scan the server user runs."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to scan as another user")
    (open_tree / "FullText/locked").chmod(0o755)  # the tree's own unreadable directory
    (open_tree / "lost+found").mkdir(mode=0o700)
    found = _scan_as(SERVER_UID, open_tree)
    assert found["errors"] == gnu_du(open_tree, user=SERVER_UID)[1] == 1
    assert found["findings"]["usage.lost_found_unreadable"] == "info"
    assert "usage.scan_errors" not in found["findings"]
    (open_tree / "Pixels/lost+found").mkdir(mode=0o700)  # not at the top: a real problem
    found = _scan_as(SERVER_UID, open_tree)
    assert found["errors"] == 2 and found["findings"]["usage.scan_errors"] == "warning"


def _scan_as(uid: int, tree: Path) -> dict:
    """Scan in a forked child that became ``uid`` (with two workers of its own)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with ScanPool(2) as pool:
                scan = scan_usage(str(tree), pool=pool)
            result = {
                "errors": scan.totals.errors,
                "allocated": scan.totals.allocated_bytes,
                "apparent": scan.totals.apparent_bytes,
                "files": scan.totals.files,
                "problem_paths": [p[1] for p in scan.problems],
                "findings": {f.code: f.severity.label for f in scan_findings(scan)},
            }
            os.write(write, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the scan as the server user failed"
    return json.loads(data)


def test_the_largest_subtrees_go_first_whether_the_last_scan_is_cached_or_not(tmp_path) -> None:  # noqa: ANN001
    from omero_tui.core.usage.cache import load_walk, save_scan
    from omero_tui.core.usage.scan import _previous_sizes
    from omero_tui.core.usage.table import RecordTable
    from tests.bench.usage_tree import make_tree

    tree = make_tree(tmp_path / "OMERO", 600, 40)
    scan = scan_usage(str(tree), pool=ScanPool(0))
    save_scan(scan, tmp_path / "state")
    cached = load_walk(tmp_path / "state", str(tree))
    assert cached is not None and isinstance(cached.records[0], RecordTable)
    counted, stored = _previous_sizes(scan.raw.plan, scan.raw), _previous_sizes(cached.plan, cached)
    tops = [rel for rel in scan.raw.records[0] if rel and rel.count("/") < 2]
    assert len(tops) > 6
    assert {rel: stored(0, rel) for rel in tops} == {rel: counted(0, rel) for rel in tops}
    assert counted(0, "Pixels") > counted(0, "FullText") > 0
