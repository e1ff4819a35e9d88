"""Access on the copy is exactly the source's, whatever the target's parent hands down;
the verification and the resume fingerprint see ACLs and extended attributes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from omero_tui.core.perms.access import (
    ACL_ACCESS_XATTR,
    ACL_DEFAULT_XATTR,
    AclEntry,
    AclTag,
    encode_acl_xattr,
)
from omero_tui.core.relocation.target_state import describe_target, restore_root
from omero_tui.core.relocation.tree_scan import fingerprint_fact, same_tree, scan_tree
from omero_tui.core.relocation.verify_access import Inode, access_difference
from omero_tui.core.relocation.verify_tree import compare_trees
from tests.core.relocation.helpers import snapshot
from tests.core.relocation.test_copy_tree import build_tree, full_copy

FIFO = "Files/a_fifo"
GROUP_NONE_DEFAULT = (  # what `setfacl -d -m g::---` leaves on a 0755 directory
    AclEntry(AclTag.USER_OBJ, 7),
    AclEntry(AclTag.GROUP_OBJ, 0),
    AclEntry(AclTag.OTHER, 5),
)
NAMED_DEFAULT = (  # a named group and a mask: inherited as a stored access ACL
    AclEntry(AclTag.USER_OBJ, 7),
    AclEntry(AclTag.GROUP_OBJ, 0),
    AclEntry(AclTag.GROUP, 7, 4242),
    AclEntry(AclTag.MASK, 7),
    AclEntry(AclTag.OTHER, 0),
)


@pytest.fixture(autouse=True)
def _root() -> None:
    if os.geteuid() != 0:
        print("skipped: owners, groups and named ACL entries of others need root")
        pytest.skip("owners, groups and named ACL entries of others need root")


def getfacl(root: Path) -> str:
    """``getfacl -R`` of a tree, paths relative to it (the fifo is made again too)."""
    if shutil.which("getfacl") is None:
        print("skipped: getfacl (the acl package) is not installed")
        pytest.skip("getfacl (the acl package) is not installed")
    out = subprocess.run(
        ["getfacl", "-R", "-p", "-n", "."], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return "\n\n".join(sorted(out.split("\n\n")))  # in name order, not readdir's


def hostile_parent(parent: Path, default_acl: tuple[AclEntry, ...]) -> Path:
    """A target parent as an admin's shared volume may be: a default ACL, set-group-ID,
    a group of its own."""
    parent.mkdir()
    os.chown(parent, 0, 4343)
    parent.chmod(0o2775)
    os.setxattr(parent, ACL_DEFAULT_XATTR, encode_acl_xattr(default_acl))
    return parent


@pytest.mark.parametrize(
    "default_acl", [GROUP_NONE_DEFAULT, NAMED_DEFAULT], ids=["g-none", "named"]
)
def test_a_default_acl_and_setgid_on_the_targets_parent_change_nothing(
    tmp_path: Path, default_acl: tuple[AclEntry, ...]
) -> None:
    source = build_tree(tmp_path / "OMERO")
    parent = hostile_parent(tmp_path / "shared", default_acl)
    target = parent / "OMERO"
    os.makedirs(target, 0o755)  # as the engine's prepare step makes it
    assert os.getxattr(target, ACL_DEFAULT_XATTR)  # inherited, as the kernel does

    full_copy(source, target)

    assert stat.S_ISFIFO((target / FIFO).lstat().st_mode)
    assert snapshot(target) == snapshot(source)  # owners, groups, modes, every xattr, ACLs included
    assert getfacl(target) == getfacl(source)
    assert compare_trees(scan_tree(str(source)), str(target)).identical


def test_the_verification_names_every_access_difference(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "OMERO")
    target = tmp_path / "copy"
    target.mkdir()
    full_copy(source, target)
    image = "ManagedRepository/user-2_2/2026-01/01/image.tif"
    assert (source / image).stat().st_mode & 0o777 == 0o644
    extra = (
        AclEntry(AclTag.USER_OBJ, 6),
        AclEntry(AclTag.GROUP_OBJ, 4),
        AclEntry(AclTag.GROUP, 5, 4242),
        AclEntry(AclTag.MASK, 5),
        AclEntry(AclTag.OTHER, 4),
    )
    os.setxattr(target / image, ACL_ACCESS_XATTR, encode_acl_xattr(extra))
    os.setxattr(target / "Pixels", ACL_DEFAULT_XATTR, encode_acl_xattr(GROUP_NONE_DEFAULT))
    os.removexattr(target / "Files" / "empty", "user.omero.note")
    os.setxattr(target / "Files" / "readonly", "user.stray", b"1")
    for path in (target / image, target / "Pixels", target / "Files" / "empty"):
        st = source.joinpath(path.relative_to(target)).stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the attributes differ

    comparison = compare_trees(scan_tree(str(source)), str(target))

    found = {d.rel: d.what for d in comparison.differences}
    inplace = image.replace("image", "inplace")  # another name of the same inode
    assert set(found) == {image, inplace, "Pixels", "Files/empty", "Files/readonly"}, found
    assert found[image] == (
        "ACL user::rw-,group::r--,group:4242:r-x,mask::r-x,other::r--, the source has none: "
        "group 4242 gets r-x on the copy, r-- on the source"
    )
    assert found["Pixels"].startswith("default ACL user::rwx,group::---,other::r-x")
    assert found["Files/empty"] == "extended attribute user.omero.note is missing"
    assert found["Files/readonly"] == "extended attribute user.stray is not on the source"
    assert "mode 0654, the source has 0644" in [d.what for d in comparison.differences]
    assert not comparison.identical and "7 difference(s)" in comparison.summary()


def test_the_resume_fingerprint_sees_owners_xattrs_and_acls(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "OMERO")
    recorded = fingerprint_fact(scan_tree(str(source)))
    assert same_tree(recorded, scan_tree(str(source)))
    changes = [
        lambda: os.setxattr(source / "Files" / "readonly", "user.new", b"x"),
        lambda: os.setxattr(
            source / "setgid", ACL_DEFAULT_XATTR, encode_acl_xattr(GROUP_NONE_DEFAULT)
        ),
        lambda: os.chown(source / "Files" / "empty", 7, 7),
    ]
    for change in changes:
        change()
        now = scan_tree(str(source))
        assert not same_tree(recorded, now)
        recorded = fingerprint_fact(now)
    # A journal written before fingerprints held owners and xattrs is still understood.
    legacy = {"fingerprint": scan_tree(str(source)).legacy_fingerprint}
    assert same_tree(legacy, scan_tree(str(source)))


def test_access_difference_follows_the_acl_mask() -> None:
    named = (
        AclEntry(AclTag.USER_OBJ, 7),
        AclEntry(AclTag.GROUP_OBJ, 5),
        AclEntry(AclTag.USER, 7, 1001),
        AclEntry(AclTag.MASK, 5),
        AclEntry(AclTag.OTHER, 0),
    )
    source = Inode(0, 100, 0o40750, named)
    assert access_difference(source, source) is None
    without = Inode(0, 100, 0o40750, None)  # the ACL was dropped: user 1001 falls to other
    assert access_difference(source, without) == (
        "user 1001 gets --- on the copy, r-x on the source"
    )
    regrouped = Inode(0, 4343, 0o40750, named)  # the group a set-gid parent handed down
    assert access_difference(source, regrouped) == (
        "group 100 gets --- on the copy, r-x on the source"
    )


def test_a_rollback_gives_an_existing_target_root_its_own_acls_back(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "OMERO")
    target = tmp_path / "existing"  # an empty directory the admin prepared, with ACLs
    target.mkdir()
    os.setxattr(target, ACL_ACCESS_XATTR, encode_acl_xattr(NAMED_DEFAULT))
    os.setxattr(target, ACL_DEFAULT_XATTR, encode_acl_xattr(GROUP_NONE_DEFAULT))
    before = describe_target(str(target))
    own = snapshot(tmp_path)["existing"]
    full_copy(source, target)  # the root now has the source root's access
    assert snapshot(tmp_path)["existing"] != own
    for child in target.iterdir():  # what a rollback removes first
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    restore_root(str(target), before)
    assert snapshot(tmp_path)["existing"] == own
