"""The cross-filesystem copy on real trees: everything kept, verified, resumable."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from omero_tui.core.perms.access import AclEntry, AclTag, encode_acl_xattr
from omero_tui.core.relocation.batch_verifier import Committed, VerificationError
from omero_tui.core.relocation.copy_tree import (
    TEMP_PREFIX,
    BatchLimits,
    copy_entries,
    finish_directories,
    make_directories,
)
from omero_tui.core.relocation.file_copy import ContentMismatch, compare_files, data_segments
from omero_tui.core.relocation.progress import Cancelled, Progress
from omero_tui.core.relocation.tree_scan import scan_tree
from omero_tui.core.relocation.verify_tree import compare_trees
from tests.core.relocation.helpers import allocated, snapshot

MIB = 1 << 20
T0 = 1_600_000_000_123_456_789  # ns: the copy must keep all nine digits


def build_tree(root: Path) -> Path:
    """A repository-like tree with every kind of entry the copy must keep."""
    (root / ".omero" / "repository" / "db-1").mkdir(parents=True)
    (root / ".omero" / "repository" / "db-1" / "repo_uuid").write_bytes(b"\x00\x04abcd")
    pixels = root / "Pixels" / "Dir-001"
    pixels.mkdir(parents=True)
    for n in range(30):
        (pixels / str(1000 + n)).write_bytes(os.urandom(100 + 37 * n))
    (root / "Pixels" / "big").write_bytes(os.urandom(3 * MIB + 5))  # the mmap compare path
    with open(root / "Pixels" / "sparse_pyramid", "wb") as out:
        out.write(b"II*\x00" + os.urandom(4096))
        out.seek(8 * MIB)
        out.write(os.urandom(4096))
        out.truncate(12 * MIB)  # a trailing hole too
    (root / "Files").mkdir()
    (root / "Files" / "empty").write_bytes(b"")
    (root / "Files" / "readonly").write_bytes(b"data")
    (root / "Files" / "readonly").chmod(0o444)
    managed = root / "ManagedRepository" / "user-2_2" / "2026-01" / "01"
    managed.mkdir(parents=True)
    (managed / "image.tif").write_bytes(os.urandom(5000))
    os.link(managed / "image.tif", managed / "inplace.tif")  # hard link inside the tree
    (managed / "link.tif").symlink_to("image.tif")  # relative symlink, kept as a symlink
    (managed / "dangling").symlink_to("/nonexistent/target")
    os.mkfifo(root / "Files" / "a_fifo")  # special: skipped and listed
    (root / "setgid").mkdir()
    (root / "setgid").chmod(0o2775)
    os.setxattr(root / "Files" / "empty", "user.omero.note", b"kept")
    if os.geteuid() == 0:
        os.chown(root / "ManagedRepository" / "user-2_2", 2, 5)
        os.chown(managed / "image.tif", 2, 5)
        os.lchown(managed / "link.tif", 3, 5)
        acl = (
            AclEntry(AclTag.USER_OBJ, 7),
            AclEntry(AclTag.USER, 5, 4242),
            AclEntry(AclTag.GROUP_OBJ, 5),
            AclEntry(AclTag.MASK, 7),
            AclEntry(AclTag.OTHER, 5),
        )
        os.setxattr(root / "setgid", "system.posix_acl_access", encode_acl_xattr(acl))
    # Times last, deepest first, as an admin's restored backup would have them.
    for dirpath, dirnames, filenames in sorted(os.walk(root), key=lambda w: -w[0].count("/")):
        for name in [*filenames, *dirnames]:
            os.utime(os.path.join(dirpath, name), ns=(T0 - 7, T0), follow_symlinks=False)
    os.utime(root, ns=(T0 - 7, T0))
    return root


def full_copy(source: Path, target: Path, **kwargs: object) -> list[Committed]:
    scan = scan_tree(str(source))
    make_directories(scan, str(target))
    batches: list[Committed] = []
    copy_entries(scan, str(target), on_batch=batches.append, **kwargs)  # type: ignore[arg-type]
    finish_directories(scan, str(target))
    return batches


def test_cross_filesystem_copy_keeps_everything(tmp_path: Path, other_fs: Path) -> None:
    source = build_tree(tmp_path / "OMERO")
    target = other_fs / "OMERO"
    target.mkdir()
    seen: list[Progress] = []
    full_copy(source, target, progress=seen.append)

    assert snapshot(target, atimes=True) == snapshot(source, atimes=True)
    assert stat.S_ISFIFO((target / "Files/a_fifo").lstat().st_mode)  # made again, not skipped
    assert (target / ".omero/repository/db-1/repo_uuid").read_bytes() == b"\x00\x04abcd"
    sparse = target / "Pixels" / "sparse_pyramid"
    assert allocated(sparse) < 1 * MIB, "holes must stay holes"
    assert data_segments(os.open(sparse, os.O_RDONLY), 12 * MIB)[0][0] == 0
    managed = target / "ManagedRepository/user-2_2/2026-01/01"
    assert (managed / "image.tif").stat().st_ino == (managed / "inplace.tif").stat().st_ino
    assert os.readlink(managed / "link.tif") == "image.tif"
    assert not list(target.rglob(f"{TEMP_PREFIX}*"))
    assert seen and seen[-1].files_done == seen[-1].files_total
    assert compare_trees(scan_tree(str(source)), str(target)).identical


def test_copy_makes_special_files_again(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    os.mknod(source / "Files" / "a_socket", stat.S_IFSOCK | 0o640)
    scan = scan_tree(str(source))
    assert scan.specials == ("Files/a_fifo", "Files/a_socket")
    target = tmp_path / "dst"
    target.mkdir()
    make_directories(scan, str(target))
    result = copy_entries(scan, str(target), on_batch=lambda b: None)
    finish_directories(scan, str(target))
    assert result.specials_made == 2
    assert stat.S_ISFIFO((target / "Files" / "a_fifo").lstat().st_mode)
    assert stat.S_ISSOCK((target / "Files" / "a_socket").lstat().st_mode)
    assert compare_trees(scan_tree(str(source)), str(target)).identical
    assert snapshot(target) == snapshot(source)


def test_a_name_someone_else_put_in_the_target_is_never_replaced(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    scan = scan_tree(str(source))
    target = tmp_path / "dst"
    target.mkdir()
    make_directories(scan, str(target))
    foreign = target / "Files" / "a_fifo"  # a name the copy will reach
    foreign.write_bytes(b"someone else's file")
    with pytest.raises(FileExistsError) as caught:
        copy_entries(scan, str(target), on_batch=lambda b: None)
    assert caught.value.filename == str(foreign)
    assert "someone else" in str(caught.value)
    assert foreign.read_bytes() == b"someone else's file"
    assert not list(target.rglob(f"{TEMP_PREFIX}*"))


def test_cancel_then_resume_does_not_copy_verified_files_again(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    target = tmp_path / "dst"
    target.mkdir()
    scan = scan_tree(str(source))
    make_directories(scan, str(target))
    cancel = threading.Event()
    batches: list[Committed] = []

    def on_batch(batch: Committed) -> None:
        batches.append(batch)
        if len(batches) == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        copy_entries(
            scan, str(target), on_batch=on_batch, cancel=cancel, limits=BatchLimits(entries=5)
        )
    upto = batches[-1].upto
    done = [e for e in scan.entries[:upto] if e.kind == "file"]
    inodes = {e.rel: (target / e.rel).stat().st_ino for e in done}
    resumed: list[Committed] = []
    result = copy_entries(scan, str(target), start=upto, on_batch=resumed.append)
    finish_directories(scan, str(target))

    assert {e.rel: (target / e.rel).stat().st_ino for e in done} == inodes, "copied again"
    assert result.entries_copied == sum(
        1 for e in scan.entries[upto:] if e.kind in ("file", "hardlink", "symlink")
    )
    assert resumed[-1].upto == len(scan.entries)
    assert compare_trees(scan, str(target)).identical


def test_leftover_temporary_file_of_a_killed_run_is_replaced(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    target = tmp_path / "dst"
    target.mkdir()
    scan = scan_tree(str(source))
    make_directories(scan, str(target))
    index = next(i for i, e in enumerate(scan.entries) if e.rel == "Files/readonly")
    leftover = target / "Files" / f"{TEMP_PREFIX}{index}"
    leftover.write_bytes(b"half a file")
    copy_entries(scan, str(target), on_batch=lambda b: None)
    finish_directories(scan, str(target))
    assert not leftover.exists()
    assert (target / "Files" / "readonly").read_bytes() == b"data"


def test_a_corrupted_copy_is_caught_and_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = build_tree(tmp_path / "src")
    target = tmp_path / "dst"
    target.mkdir()
    scan = scan_tree(str(source))
    make_directories(scan, str(target))
    from omero_tui.core.relocation import copy_tree

    real = copy_tree._copy_file

    def corrupting(src_dir, dst_dir, name, temp, entry, copier, meta) -> None:  # noqa: ANN001
        real(src_dir, dst_dir, name, temp, entry, copier, meta)
        if entry.rel == "Pixels/big":
            fd = os.open(temp, os.O_WRONLY, dir_fd=dst_dir)
            os.pwrite(fd, b"\xff", 2 * MIB + 3)
            os.close(fd)

    monkeypatch.setattr(copy_tree, "_copy_file", corrupting)
    batches: list[Committed] = []
    with pytest.raises(VerificationError, match="Pixels/big"):
        copy_entries(scan, str(target), on_batch=batches.append, limits=BatchLimits(entries=3))
    big = next(i for i, e in enumerate(scan.entries) if e.rel == "Pixels/big")
    assert all(b.upto <= big for b in batches), "a batch holding the bad file was recorded"


def test_compare_finds_one_changed_byte_small_large_and_in_a_hole(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for size in (10, 3 * MIB):
        data = os.urandom(size)
        a.write_bytes(data)
        b.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        with pytest.raises(ContentMismatch):
            compare_files(str(a), str(b), size, False)
        b.write_bytes(data)
        compare_files(str(a), str(b), size, False)
    for path in (a, b):
        with open(path, "wb") as out:
            out.write(b"x" * 4096)
            out.truncate(4 * MIB)
    with open(b, "r+b") as out:  # data where the source has a hole
        out.seek(3 * MIB)
        out.write(b"y")
    with pytest.raises(ContentMismatch, match="hole"):
        compare_files(str(a), str(b), 4 * MIB, True)
