"""The deep check walks a real tree and lists what the server user cannot use."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core import perms_deep
from omero_tui.core.perms_deep import deep_check
from omero_tui.core.server_user import lookup_user
from tests.core.test_access_ground_truth import Scratch, make, scratch_users, truths
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
