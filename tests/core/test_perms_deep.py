"""The deep check walks a real tree and lists what the server user cannot use."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.perms import deep as perms_deep
from omero_tui.core.perms.deep import deep_check
from omero_tui.core.perms.server_user import lookup_user
from tests.core.test_access_ground_truth import (
    Scratch,
    has_setfacl,
    make,
    scratch_users,
    setfacl,
    truths,
)
from tests.core.test_perms_fix import repo_tree


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


def kernel_problems(root: Path, user: str) -> set[str]:
    """Entries below root the kernel says are unusable: unreadable files, dirs without rwx."""
    dirs_, files_ = [], []
    for directory, dirs, files in os.walk(root):
        dirs_ += [os.path.join(directory, d) for d in dirs]
        files_ += [os.path.join(directory, f) for f in files]
    kernel = truths(user, dirs_ + files_)
    return {d for d in dirs_ if kernel[d] != "rwx"} | {f for f in files_ if "r" not in kernel[f]}


def test_every_problem_the_kernel_sees_and_no_other(scratch: Scratch) -> None:
    data = repo_tree(scratch.base / "deep", scratch.user, scratch.user)
    make(data / "Pixels" / "1", "root", "root", 0o600, is_dir=False)  # unreadable file
    closed = make(data / "Files" / "closed", scratch.other, scratch.foreign, 0o700)
    make(closed / "inside", scratch.user, scratch.user, 0o600, is_dir=False)  # blocked
    make(data / "Thumbnails" / "ro", scratch.user, scratch.user, 0o555)  # not writable
    result = deep_check([str(data)], lookup_user(scratch.user).identity)
    found = {p.path for p in result.problems}
    assert found == kernel_problems(data, scratch.user)
    assert result.problems_total == 4
    assert (result.unreadable_total, result.unwritable_dirs_total) == (3, 2)
    blocked = {p.path for p in result.problems if p.blocked}
    assert blocked == {str(closed / "inside")}
    tops = {t.path: t for t in result.problem_tops}
    assert set(tops) == {str(data / n) for n in ("Pixels", "Files", "Thumbnails")}
    assert tops[str(data / "Pixels")].other_owner
    assert not tops[str(data / "Thumbnails")].other_owner
    assert tops[str(data / "Thumbnails")].owner_bits_short


def test_only_the_first_problems_are_kept_but_all_are_counted(scratch: Scratch) -> None:
    data = make(scratch.base / "many", scratch.user, scratch.user, 0o755)
    for n in range(30):
        make(data / f"f{n}", "root", "root", 0o600, is_dir=False)
    result = deep_check([str(data)], lookup_user(scratch.user).identity, limit=5)
    assert len(result.problems) == 5
    assert result.problems_total == 30
    assert result.scanned == 30


def test_cancel_stops_the_walk_and_says_so(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make(scratch.base / "cancel", scratch.user, scratch.user, 0o755)
    for n in range(40):
        make(data / f"d{n}", scratch.user, scratch.user, 0o755)
    monkeypatch.setattr(perms_deep, "PROGRESS_INTERVAL_S", 0.0)
    cancel = threading.Event()
    reports = []

    def progress(p) -> None:  # noqa: ANN001
        reports.append(p)
        if p.scanned >= 10:
            cancel.set()

    result = deep_check(
        [str(data)], lookup_user(scratch.user).identity, progress=progress, cancel=cancel
    )
    assert result.cancelled
    assert 10 <= result.scanned < 40
    assert reports[-1].scanned == result.scanned


def test_symlink_targets_outside_the_tree_must_be_readable(scratch: Scratch) -> None:
    """In-place imports link to the users' own files: the server reads through the link."""
    data = repo_tree(scratch.base / "links", scratch.user, scratch.user)
    outside = make(scratch.base / "user-data", scratch.other, scratch.foreign, 0o755)
    readable = make(outside / "ok.tif", scratch.other, scratch.foreign, 0o644, is_dir=False)
    private = make(outside / "private.tif", scratch.other, scratch.foreign, 0o600, is_dir=False)
    closed = make(outside / "closed", scratch.other, scratch.foreign, 0o700)
    hidden = make(closed / "hidden.tif", scratch.other, scratch.foreign, 0o644, is_dir=False)
    fileset = data / "ManagedRepository" / "user-3_3"
    for target in (readable, private, hidden):
        (fileset / target.name).symlink_to(target)
    (fileset / "inside").symlink_to(data / "Pixels" / "0")  # judged where it lies
    (fileset / "dangling").symlink_to(outside / "gone.tif")
    kernel = truths(scratch.user, [fileset / n for n in ("ok.tif", "private.tif", "hidden.tif")])
    assert [t[0] for t in kernel.values()] == ["r", "-", "-"]
    result = deep_check([str(data)], lookup_user(scratch.user).identity)
    links = {p.path: p.link_target for p in result.problems if p.link_target}
    assert links == {
        str(fileset / "private.tif"): str(private),
        str(fileset / "hidden.tif"): str(hidden),
    }
    assert result.link_unreadable_total == 2 and result.problems_total == 2
    assert result.problem_tops == ()  # nothing inside the repository to change


def test_a_directory_without_one_entry_for_write_and_search_is_a_problem(
    scratch: Scratch,
) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL cases not checked")
    data = repo_tree(scratch.base / "split", scratch.user, scratch.user)
    split = make(data / "Pixels" / "split", scratch.other, scratch.foreign, 0o700)
    setfacl("-m", f"g:{scratch.group}:rw-,g:{scratch.user}:r-x", str(split))
    assert truths(scratch.user, [split])[str(split)] == "rwx"  # test -w and -x pass
    result = deep_check([str(data)], lookup_user(scratch.user).identity)
    assert [(p.path, p.write) for p in result.problems] == [(str(split), False)]
    assert result.unwritable_dirs_total == 1
