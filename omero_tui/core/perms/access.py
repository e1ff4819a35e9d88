"""What a given user may do with a path: read, write, traverse, as the kernel decides it.

The console usually runs as root, which can do everything, so ``os.access`` answers
the wrong question. This module answers it for another uid and its groups from the
owner, group, mode bits and the POSIX ACL (the ``system.posix_acl_access`` xattr,
parsed here so no new dependency is needed), following acl(5)'s access check
algorithm, including the ACL mask. A read-only filesystem denies writing to everyone,
root included, as access(2) does.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import struct
from enum import IntEnum

from omero_tui.core.record import frozen

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from collections.abc import Callable

ACL_ACCESS_XATTR = "system.posix_acl_access"
ACL_DEFAULT_XATTR = "system.posix_acl_default"
ACL_XATTR_VERSION = 2
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
UNDEFINED_ID = 0xFFFFFFFF

R, W, X = 4, 2, 1


class AclTag(IntEnum):
    USER_OBJ = 0x01
    USER = 0x02
    GROUP_OBJ = 0x04
    GROUP = 0x08
    MASK = 0x10
    OTHER = 0x20


@frozen
class AclEntry:
    tag: AclTag
    perms: int  # rwx as 4/2/1
    qualifier: int | None = None  # uid for USER, gid for GROUP

    def text(self, names: dict[int, str] | None = None) -> str:
        """``getfacl``-style text, e.g. ``user:omero:r-x``."""
        kind = {
            AclTag.USER_OBJ: "user",
            AclTag.USER: "user",
            AclTag.GROUP_OBJ: "group",
            AclTag.GROUP: "group",
            AclTag.MASK: "mask",
            AclTag.OTHER: "other",
        }[self.tag]
        who = ""
        if self.qualifier is not None:
            who = (names or {}).get(self.qualifier, str(self.qualifier))
        return f"{kind}:{who}:{perm_text(self.perms)}"


CAP_DAC_OVERRIDE = 1  # capability numbers, as bits of /proc/<pid>/status CapEff
CAP_DAC_READ_SEARCH = 2


@frozen
class Identity:
    """Who is asking: the effective uid and every group id the process holds."""

    uid: int
    gid: int  # primary group
    groups: frozenset[int]  # supplementary groups, the primary included
    # The effective capabilities of a running process (CapEff); None when not known
    # (a user from the user database): then root holds them all and nobody else any.
    # A root server whose unit or container drops CAP_DAC_OVERRIDE is bound by the
    # mode bits like anyone; a non-root one granted it is not.
    caps: int | None = None

    def has_cap(self, cap: int) -> bool:
        if self.caps is None:
            return self.uid == 0
        return bool(self.caps >> cap & 1)

    @property
    def is_root(self) -> bool:
        """Root with the override that lets it read and write everything."""
        return self.uid == 0 and self.has_cap(CAP_DAC_OVERRIDE)


@frozen
class Access:
    read: bool
    write: bool
    traverse: bool  # search for a directory, execute for a file
    via: str  # which part decided, e.g. "owner", "group omero", "ACL user", "other", "root"
    # A directory only: write and search granted together, which creating, deleting or
    # renaming an entry needs. The kernel asks one ACL entry for both at once, so two
    # matching group entries, one with w and one with x, pass ``test -w`` and ``test -x``
    # and still refuse every new file.
    create: bool = False


class AclFormatError(ValueError):
    """An ACL xattr that does not follow the Linux binary format."""


def perm_text(perms: int) -> str:
    return "".join(c if perms & bit else "-" for c, bit in (("r", R), ("w", W), ("x", X)))


def parse_acl_xattr(data: bytes) -> tuple[AclEntry, ...]:
    """Entries of a ``system.posix_acl_*`` xattr value (little endian, version 2)."""
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % _ENTRY.size:
        raise AclFormatError(f"ACL xattr of {len(data)} bytes is not header + whole entries")
    (version,) = _HEADER.unpack_from(data)
    if version != ACL_XATTR_VERSION:
        raise AclFormatError(f"ACL xattr version {version}, expected {ACL_XATTR_VERSION}")
    entries = []
    for offset in range(_HEADER.size, len(data), _ENTRY.size):
        tag, perms, ident = _ENTRY.unpack_from(data, offset)
        try:
            kind = AclTag(tag)
        except ValueError:
            raise AclFormatError(f"unknown ACL tag {tag:#x}") from None
        qualifier = ident if kind in (AclTag.USER, AclTag.GROUP) else None
        entries.append(AclEntry(kind, perms & 7, qualifier))
    return tuple(entries)


def encode_acl_xattr(entries: tuple[AclEntry, ...] | list[AclEntry]) -> bytes:
    """The xattr value for ``entries``, sorted as the kernel requires (tag, then id)."""
    ordered = sorted(entries, key=lambda e: (int(e.tag), e.qualifier or 0))
    body = b"".join(
        _ENTRY.pack(int(e.tag), e.perms, UNDEFINED_ID if e.qualifier is None else e.qualifier)
        for e in ordered
    )
    return _HEADER.pack(ACL_XATTR_VERSION) + body


def read_acl_bytes(
    path: str, name: str = ACL_ACCESS_XATTR, *, follow_symlinks: bool = True
) -> bytes | None:
    """The raw ACL xattr, None when the path has none or the filesystem has no ACLs.

    Follows a symlink by default, as ``os.stat`` does: a symlinked subdirectory is
    judged by its target's ACL, which is what the kernel checks.
    """
    try:
        return os.getxattr(path, name, follow_symlinks=follow_symlinks)
    except OSError as err:
        if err.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOENT):
            return None
        if err.errno == errno.EPERM:  # symlinks cannot carry ACLs
            return None
        raise


def read_acl(path: str, *, follow_symlinks: bool = True) -> tuple[AclEntry, ...] | None:
    """The access ACL when it adds something to the mode bits, else None."""
    data = read_acl_bytes(path, follow_symlinks=follow_symlinks)
    if data is None:
        return None
    entries = parse_acl_xattr(data)
    return entries if is_extended(entries) else None


def is_extended(entries: tuple[AclEntry, ...]) -> bool:
    """More than the three entries that merely mirror the mode bits."""
    return any(e.tag in (AclTag.USER, AclTag.GROUP, AclTag.MASK) for e in entries)


def mode_bits_for(
    st_uid: int,
    st_gid: int,
    mode: int,
    acl: tuple[AclEntry, ...] | None,
    who: Identity,
) -> tuple[int, str]:
    """(the rwx bits ``who`` gets, which entry decided), per acl(5) "Access check algorithm".

    Each bit on its own, as ``test -r``, ``-w`` and ``-x`` ask. Root is not special
    here; :func:`effective_access` adds its capabilities.
    """
    candidates, via = class_entries(st_uid, st_gid, mode, acl, who)
    union = 0
    for perms in candidates:
        union |= perms
    return union, via


def class_entries(
    st_uid: int,
    st_gid: int,
    mode: int,
    acl: tuple[AclEntry, ...] | None,
    who: Identity,
) -> tuple[tuple[int, ...], str]:
    """(the permission sets of the one class that applies to ``who``, its name).

    One set, except in the group class of an ACL: there every matching entry (the
    owning group and the named groups ``who`` holds) is a candidate, masked, and a
    request is granted when one candidate holds all of it. A matching group entry that
    lacks a right does not fall through to "other" (acl(5)).
    """
    if who.uid == st_uid:
        if acl:
            return (_single(acl, AclTag.USER_OBJ),), "owner"
        return ((mode >> 6) & 7,), "owner"
    # Linux consults the ACL only when the group class bits (the mask) are not all
    # clear (acl_permission_check in fs/namei.c); with an empty mask every named entry
    # would grant nothing anyway, but the kernel then reads the plain mode bits, so a
    # user with a named entry falls through to "other" instead of being refused.
    if acl and mode & 0o070:
        mask = next((e.perms for e in acl if e.tag == AclTag.MASK), 7)
        for entry in acl:
            if entry.tag == AclTag.USER and entry.qualifier == who.uid:
                return (entry.perms & mask,), "ACL user entry"
        matching = [
            e
            for e in acl
            if (e.tag == AclTag.GROUP_OBJ and st_gid in who.groups)
            or (e.tag == AclTag.GROUP and e.qualifier in who.groups)
        ]
        if matching:
            owning = any(e.tag == AclTag.GROUP_OBJ for e in matching)
            perms = tuple(e.perms & mask for e in matching)
            return perms, "group" if owning else "ACL group entry"
        return (_single(acl, AclTag.OTHER),), "other"
    if st_gid in who.groups:
        return ((mode >> 3) & 7,), "group"
    return (mode & 7,), "other"


def grants(
    st_uid: int,
    st_gid: int,
    mode: int,
    acl: tuple[AclEntry, ...] | None,
    who: Identity,
    want: int,
) -> bool:
    """Whether one access request for all of ``want`` (e.g. ``W | X``) succeeds."""
    candidates, _ = class_entries(st_uid, st_gid, mode, acl, who)
    return any(perms & want == want for perms in candidates)


def _single(acl: tuple[AclEntry, ...], tag: AclTag) -> int:
    return next((e.perms for e in acl if e.tag == tag), 0)


def effective_access(
    st: os.stat_result,
    acl: tuple[AclEntry, ...] | None,
    who: Identity,
    *,
    read_only_fs: bool = False,
) -> Access:
    """What ``who`` may do with the inode ``st`` describes (not counting the path to it)."""
    is_dir = stat.S_ISDIR(st.st_mode)
    if who.has_cap(CAP_DAC_OVERRIDE):
        # Everything, except executing a file whose mode has no x at all.
        any_x = bool(st.st_mode & 0o111)
        writable = not read_only_fs
        via = "root" if who.uid == 0 else "CAP_DAC_OVERRIDE"
        return Access(True, writable, is_dir or any_x, via, create=is_dir and writable)
    bits, via = mode_bits_for(st.st_uid, st.st_gid, st.st_mode, acl, who)
    if who.has_cap(CAP_DAC_READ_SEARCH):
        # Read any file; read and search any directory. Writing still needs the bits.
        granted = R | (X if is_dir else 0)
        if granted & ~bits:
            via = "CAP_DAC_READ_SEARCH"
        bits |= granted
    writable = bool(bits & W) and not read_only_fs
    if bits & W and read_only_fs:
        via = "read-only filesystem"
    create = (
        is_dir and not read_only_fs and grants(st.st_uid, st.st_gid, st.st_mode, acl, who, W | X)
    )
    return Access(bool(bits & R), writable, bool(bits & X), via, create=create)


def is_read_only_fs(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def mode_string(st: os.stat_result, has_acl: bool = False) -> str:
    """``ls -l`` style, with ``+`` when an ACL adds to the mode bits."""
    return stat.filemode(st.st_mode) + ("+" if has_acl else "")


def ancestors_of(path: str, realpath: Callable[[str], str] = os.path.realpath) -> list[str]:
    """Every directory the kernel walks through to reach ``path``, from ``/`` down.

    Real paths: for a symlink on the way, both the directory holding the link and the
    ancestors of its target must be enterable. ``realpath``: one that remembers (see
    ``remembering_realpath``) when many paths with shared ancestors are asked about.
    """
    seen: dict[str, None] = {}

    def chain(directory: str) -> None:
        while directory not in seen:
            seen[directory] = None
            parent = os.path.dirname(directory)
            if parent == directory:
                return
            directory = parent

    lexical = os.path.dirname(os.path.abspath(path))
    while True:
        chain(realpath(lexical))
        parent = os.path.dirname(lexical)
        if parent == lexical:
            break
        lexical = parent
    chain(os.path.dirname(realpath(path)))
    return sorted(seen, key=depth_key)


def remembering_realpath() -> Callable[[str], str]:
    """``os.path.realpath`` that resolves each path once: for one check, whose paths
    share most of their ancestors (each resolution is an lstat per component)."""
    return functools.cache(os.path.realpath)


def depth_key(path: str) -> tuple[int, str]:
    return (path.rstrip(os.sep).count(os.sep) if path != os.sep else 0, path)


def path_blocked_at(path: str, who: Identity) -> str | None:
    """The first directory on the way to ``path`` that ``who`` cannot enter, if any."""
    for ancestor in ancestors_of(path):
        try:
            st = os.stat(ancestor)
            acl = read_acl(ancestor)
        except (OSError, ValueError):
            return ancestor
        if not effective_access(st, acl, who).traverse:
            return ancestor
    return None
