"""The disk walk yields byte order, the order ``COLLATE "C"`` sorts the rows in."""

from __future__ import annotations

import os

from omero_tui.core.database.disk_walk import walk_sorted


def test_walk_is_in_byte_order_with_tricky_names(tmp_path) -> None:
    root = os.fsencode(tmp_path)
    files = [b"a.b", b"a-b", b"a/x", b"a/x.y", b"ab/c", b"B", b"\xe9t\xe9", b"a b/c", b"0"]
    for name in files:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x")
    keys = [e.key for e in walk_sorted(root)]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert keys.index(b"a.b") < keys.index(b"a/") < keys.index(b"a/x") < keys.index(b"ab/")
    assert {k for k in keys if not k.endswith(b"/")} == set(files)


def test_directory_walk_has_the_same_order_and_sizes(tmp_path) -> None:
    from omero_tui.core.database.disk_dirs import walk_dirs

    root = os.fsencode(tmp_path)
    files = [b"a.b", b"a-b", b"a/x", b"a/x.y", b"ab/c", b"B", b"\xe9t\xe9", b"a b/c", b"0"]
    for i, name in enumerate(files):
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x" * i)
    os.symlink(b"nowhere", os.path.join(root, b"a", b"broken"))
    os.mkdir(os.path.join(root, b".omero"))
    dirs = list(walk_dirs(root, skip_top=(".omero",)))
    keys = [d.key for d in dirs]
    assert keys == sorted(keys) == [b"", b"a b/", b"a/", b"ab/"]
    flat = {d.key + n: s for d in dirs for n, s in zip(d.name_list(), d.size_list(), strict=True)}
    walked = {e.key: e.size for e in walk_sorted(root) if not e.is_dir}
    assert flat == {k: v for k, v in walked.items()} and flat[b"a/broken"] is None
    top = dirs[0]
    assert top.names == b"/".join(sorted(n for n in files if b"/" not in n))
    assert top.dirs == ["a b", "a", "ab"]  # byte order of name + "/": " " < "/" < "b"


def test_parallel_walk_equals_the_single_walk(tmp_path) -> None:
    import psutil

    from omero_tui.core.database.disk_dirs import walk_dirs
    from omero_tui.core.database.walk_workers import walk_dirs_parallel

    root = os.fsencode(tmp_path)
    for user in (b"user-1", b"user-2", b"u\xe9", b"z", b".omero"):
        for day in (b"01", b"02.x", b"02"):
            os.makedirs(os.path.join(root, user, day))
            for i in range(3):
                with open(os.path.join(root, user, day, b"f%d" % i), "wb") as fh:
                    fh.write(b"x" * i)
    with open(os.path.join(root, b"top.txt"), "wb") as fh:
        fh.write(b"top")
    single = list(walk_dirs(root, skip_top=(".omero",)))
    parallel = list(walk_dirs_parallel(root, skip_top=(".omero",), workers=2))
    assert parallel == single and len(single) == 1 + 4 * 4
    # Stopped half way (a cancelled check): its worker processes are gone.
    before = {c.pid for c in psutil.Process().children()}
    walk = walk_dirs_parallel(root, workers=2)
    next(walk), next(walk)
    workers = _new_children(before)
    assert len(workers) == 2
    walk.close()
    assert _gone(workers)


def _new_children(before: set[int]) -> list:
    """This process's children started since ``before`` (other tests may have theirs)."""
    import psutil

    return [c for c in psutil.Process().children() if c.pid not in before]


def _gone(processes: list) -> bool:
    import psutil

    def alive(c) -> bool:  # noqa: ANN001
        try:
            return c.is_running() and c.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return not [c for c in processes if alive(c)]


def test_a_walk_worker_that_dies_is_a_clear_failure(tmp_path) -> None:
    import psutil
    import pytest

    from omero_tui.core.database.walk_workers import WalkFailed, walk_dirs_parallel

    root = os.fsencode(tmp_path)
    for user in (b"a", b"b"):  # enough that a walk outlasts the kill below
        os.makedirs(os.path.join(root, user))
        for i in range(3000):
            os.close(os.open(os.path.join(root, user, b"f%d" % i), os.O_CREAT | os.O_WRONLY))
    before = {c.pid for c in psutil.Process().children()}
    walk = walk_dirs_parallel(root, workers=2)
    assert next(walk).key == b""  # the workers have just been started
    workers = _new_children(before)
    assert len(workers) == 2
    for child in workers:
        child.kill()  # before their interpreter has even started walking
    with pytest.raises(WalkFailed, match="ended unexpectedly"):
        list(walk)
    assert _gone(workers)
