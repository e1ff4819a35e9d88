"""The ACL xattr format and the access rules, on bytes recorded from a real ``setfacl``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from omero_tui.core.perms.access import (
    AclEntry,
    AclFormatError,
    AclTag,
    Identity,
    ancestors_of,
    effective_access,
    encode_acl_xattr,
    grants,
    mode_bits_for,
    parse_acl_xattr,
    read_acl,
    remembering_realpath,
)

# `setfacl -m u:nobody:rx DIR` on ext4 (owner root, mode 0700), read with os.getxattr.
RECORDED = bytes.fromhex(
    "0200000001000700ffffffff02000500feff000004000000ffffffff10000500ffffffff20000000ffffffff"
)
USER = Identity(uid=1000, gid=1000, groups=frozenset({1000, 50}))


def test_recorded_sample_parses_to_getfacl_entries() -> None:
    entries = parse_acl_xattr(RECORDED)
    assert [e.text() for e in entries] == [
        "user::rwx",
        "user:65534:r-x",
        "group::---",
        "mask::r-x",
        "other::---",
    ]
    assert encode_acl_xattr(list(reversed(entries))) == RECORDED  # kernel order restored


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02\x00\x00", RECORDED[:-1], b"\x01\x00\x00\x00", RECORDED[:4] + b"\x40\x00" * 4],
    ids=["empty", "short header", "partial entry", "version 1", "unknown tag"],
)
def test_malformed_xattrs_are_refused(data: bytes) -> None:
    with pytest.raises(AclFormatError):
        parse_acl_xattr(data)


def stat_of(uid: int, gid: int, mode: int) -> os.stat_result:
    return os.stat_result((0o040000 | mode, 0, 0, 2, uid, gid, 0, 0, 0, 0))


def test_owner_class_wins_even_when_the_group_has_more() -> None:
    assert mode_bits_for(1000, 50, 0o070, None, USER) == (0, "owner")


def test_group_class_excludes_other() -> None:
    assert mode_bits_for(0, 50, 0o707, None, USER) == (0, "group")


def test_acl_mask_limits_named_entries_but_not_the_owner() -> None:
    acl = (
        AclEntry(AclTag.USER_OBJ, 7),
        AclEntry(AclTag.USER, 7, 1000),
        AclEntry(AclTag.GROUP_OBJ, 7),
        AclEntry(AclTag.MASK, 5),
        AclEntry(AclTag.OTHER, 0),
    )
    assert mode_bits_for(0, 0, 0o750, acl, USER) == (5, "ACL user entry")
    owner = Identity(0, 0, frozenset({0}))
    assert mode_bits_for(0, 0, 0o750, acl, owner) == (7, "owner")


def test_matching_group_entries_grant_their_union() -> None:
    acl = (
        AclEntry(AclTag.USER_OBJ, 7),
        AclEntry(AclTag.GROUP_OBJ, 4),
        AclEntry(AclTag.GROUP, 1, 50),
        AclEntry(AclTag.MASK, 7),
        AclEntry(AclTag.OTHER, 7),
    )
    bits, via = mode_bits_for(0, 1000, 0o770, acl, USER)
    assert (bits, via) == (5, "group")


def test_creating_needs_one_group_entry_with_write_and_search() -> None:
    acl = (
        AclEntry(AclTag.USER_OBJ, 7),
        AclEntry(AclTag.GROUP_OBJ, 6),  # rw-, the owning group 1000 is the user's
        AclEntry(AclTag.GROUP, 5, 50),  # r-x, a supplementary group
        AclEntry(AclTag.MASK, 7),
        AclEntry(AclTag.OTHER, 0),
    )
    assert mode_bits_for(0, 1000, 0o770, acl, USER) == (7, "group")
    assert not grants(0, 1000, 0o770, acl, USER, 0o3)
    access = effective_access(stat_of(0, 1000, 0o770), acl, USER)
    assert (access.write, access.traverse, access.create) == (True, True, False)
    one = (*acl[:2], AclEntry(AclTag.GROUP, 7, 50), *acl[3:])
    assert effective_access(stat_of(0, 1000, 0o770), one, USER).create


def test_an_empty_mask_sends_named_entries_to_the_mode_bits() -> None:
    acl = (
        AclEntry(AclTag.USER_OBJ, 7),
        AclEntry(AclTag.USER, 7, 1000),
        AclEntry(AclTag.GROUP_OBJ, 0),
        AclEntry(AclTag.MASK, 0),
        AclEntry(AclTag.OTHER, 5),
    )
    assert mode_bits_for(0, 0, 0o705, acl, USER) == (5, "other")
    with_mask = (*acl[:3], AclEntry(AclTag.MASK, 1), acl[4])
    assert mode_bits_for(0, 0, 0o715, with_mask, USER) == (1, "ACL user entry")


def test_root_reads_and_writes_but_runs_only_files_someone_may_run() -> None:
    root = Identity(0, 0, frozenset({0}))
    plain_file = os.stat_result((0o100600, 0, 0, 1, 1000, 1000, 0, 0, 0, 0))
    access = effective_access(plain_file, None, root)
    assert (access.read, access.write, access.traverse) == (True, True, False)
    access = effective_access(stat_of(1000, 1000, 0), None, root, read_only_fs=True)
    assert (access.read, access.write, access.traverse) == (True, False, True)


def test_read_acl_sees_a_real_acl(tmp_path: Path) -> None:
    if shutil.which("setfacl") is None:
        pytest.skip("setfacl is not installed (apt-get install acl): no real ACL to read")
    target = tmp_path / "d"
    target.mkdir()
    assert read_acl(str(target)) is None
    done = subprocess.run(
        ["setfacl", "-m", "u:65534:rx", str(target)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"this filesystem takes no ACLs: {done.stderr.decode().strip()}")
    entries = read_acl(str(target))
    assert entries is not None
    assert AclEntry(AclTag.USER, 5, 65534) in entries


def test_ancestors_through_symlinks_are_the_same_with_a_remembering_realpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The permissions check resolves each shared ancestor once; the answer is the same."""
    (tmp_path / "real" / "OMERO" / "Pixels").mkdir(parents=True)
    (tmp_path / "real" / "OMERO" / "Files").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    paths = [str(tmp_path / "link" / "OMERO" / name) for name in ("Pixels", "Files", "Gone")]
    resolved: list[str] = []
    real = os.path.realpath

    def counting(path: str) -> str:
        resolved.append(path)
        return real(path)

    plain = [ancestors_of(p, counting) for p in paths]
    assert plain == [ancestors_of(p) for p in paths]
    asked_plain = len(resolved)
    resolved.clear()
    monkeypatch.setattr(os.path, "realpath", counting)
    remembering = remembering_realpath()
    assert [ancestors_of(p, remembering) for p in paths] == plain
    assert sorted(resolved) == sorted(set(resolved))  # each path resolved once
    assert len(resolved) < asked_plain
    assert str(tmp_path / "real" / "OMERO") in plain[0] and str(tmp_path) in plain[0]
