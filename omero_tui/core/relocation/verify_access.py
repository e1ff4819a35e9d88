"""Who may do what with a copied entry, compared with its source: ACLs and other xattrs.

Bytes first: the kernel hands out an ACL in one canonical encoding, so equal ACLs are
equal bytes and the common case (no attributes at all, or the same ones) costs one tuple
comparison. Only a difference is worked out in words, as the access it changes: which
user or group gets which rights on the copy and which on the source (acl(5)'s access
check, the mask included, through ``omero_tui.core.perms.access``).
"""

from __future__ import annotations

from typing import NamedTuple

from omero_tui.core.perms.access import (
    ACL_ACCESS_XATTR,
    ACL_DEFAULT_XATTR,
    AclEntry,
    AclFormatError,
    AclTag,
    Identity,
    is_extended,
    mode_bits_for,
    parse_acl_xattr,
    perm_text,
)
from omero_tui.core.relocation.tree_scan import Entry

NOBODY = -1  # matches no owner, no ACL entry and no group
ACL_XATTRS = (ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR)


class Inode(NamedTuple):
    uid: int
    gid: int
    mode: int
    acl: tuple[AclEntry, ...] | None  # the access ACL when it adds to the mode bits


def xattr_differences(want: Entry, got: Entry) -> list[str]:
    """One line per difference in ACLs or other extended attributes (none: [])."""
    if want.xattrs == got.xattrs:  # nearly always, and nearly always both empty
        return []
    wanted, found = dict(want.compared_xattrs), dict(got.compared_xattrs)
    if wanted == found:
        return []
    out = []
    if wanted.get(ACL_ACCESS_XATTR) != found.get(ACL_ACCESS_XATTR):
        out.append(_access_acl_difference(want, got))
    if wanted.get(ACL_DEFAULT_XATTR) != found.get(ACL_DEFAULT_XATTR):
        out.append(
            f"default ACL {_acl_text(found.get(ACL_DEFAULT_XATTR))}, the source has "
            f"{_acl_text(wanted.get(ACL_DEFAULT_XATTR))} (new entries would get other access)"
        )
    for name in sorted(wanted.keys() | found.keys()):
        if name in ACL_XATTRS or wanted.get(name) == found.get(name):
            continue
        if name not in found:
            out.append(f"extended attribute {name} is missing")
        elif name not in wanted:
            out.append(f"extended attribute {name} is not on the source")
        else:
            out.append(f"extended attribute {name} differs from the source's")
    return out


def _access_acl_difference(want: Entry, got: Entry) -> str:
    text = (
        f"ACL {_acl_text(dict(got.xattrs).get(ACL_ACCESS_XATTR))}, the source "
        f"has {_acl_text(dict(want.xattrs).get(ACL_ACCESS_XATTR))}"
    )
    who = access_difference(_inode(want), _inode(got))
    return f"{text}: {who}" if who else text


def _inode(entry: Entry) -> Inode:
    data = dict(entry.xattrs).get(ACL_ACCESS_XATTR)
    acl = _parsed(data)
    return Inode(entry.uid, entry.gid, entry.mode, acl if acl and is_extended(acl) else None)


def _parsed(data: bytes | None) -> tuple[AclEntry, ...] | None:
    if not data:
        return None
    try:
        return parse_acl_xattr(data)
    except AclFormatError:
        return None


def _acl_text(data: bytes | None) -> str:
    if not data:
        return "none"
    entries = _parsed(data)
    if entries is None:
        return f"unreadable ({len(data)} bytes)"
    return ",".join(entry.text() for entry in entries)


def access_difference(source: Inode, copy: Inode) -> str | None:
    """The first user or group (or everyone else) whose rights on ``copy`` are not those
    on ``source``, in words; None when every one of them gets the same."""
    users = {source.uid, copy.uid} | _qualifiers(source.acl, copy.acl, AclTag.USER)
    groups = {source.gid, copy.gid} | _qualifiers(source.acl, copy.acl, AclTag.GROUP)
    askers = [(f"user {uid}", Identity(uid, NOBODY, frozenset())) for uid in sorted(users)]
    askers += [(f"group {gid}", Identity(NOBODY, gid, frozenset({gid}))) for gid in sorted(groups)]
    askers.append(("everyone else", Identity(NOBODY, NOBODY, frozenset())))
    for who, identity in askers:
        before = _bits(source, identity)
        after = _bits(copy, identity)
        if before != after:
            return f"{who} gets {perm_text(after)} on the copy, {perm_text(before)} on the source"
    return None


def _qualifiers(a: tuple[AclEntry, ...] | None, b: tuple[AclEntry, ...] | None, tag: AclTag) -> set:
    return {e.qualifier for e in (*(a or ()), *(b or ())) if e.tag == tag}


def _bits(inode: Inode, who: Identity) -> int:
    bits, _ = mode_bits_for(inode.uid, inode.gid, inode.mode, inode.acl, who)
    return bits
