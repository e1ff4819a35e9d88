"""Give a copied entry exactly its source's owner, mode, extended attributes, ACLs and times.

Exactly: what the target directory hands down to a new entry is undone. A set-group-ID
directory gives new entries its own group (and new directories its set-gid bit), a
default ACL gives them an access ACL (directories also the default ACL) and overrides
the umask. So the owner is set whenever it is not the source's, every extended
attribute the source does not have is removed, and the mode is set whenever the new
entry's is not the source's.

Order matters: owner first (``chown`` clears set-uid/set-gid bits), then the extended
attributes (POSIX ACLs are the ``system.posix_acl_*`` attributes), then the mode (with
an ACL, ``chmod`` sets its mask, equal to the source's), and the times last, in
nanoseconds, because every other change touches the inode.

What a filesystem refuses (no ACLs on the target, ``security.*`` labels, owners when
not root) is counted per attribute and reported; the verification then compares ACLs
and attributes, so a copy whose access differs from the source's never passes.
"""

from __future__ import annotations

import errno
import os
import stat

from omero_tui.core.record import field, mutable
from omero_tui.core.relocation.tree_scan import UNCOMPARED_XATTRS, Entry

_REFUSED = {errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.E2BIG}
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
ACL_PREFIX = "system.posix_acl_"


@mutable
class Dropped:
    """Metadata a filesystem would not take: attribute -> (count, a few examples)."""

    items: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    def add(self, what: str, rel: str) -> None:
        count, examples = self.items.get(what, (0, []))
        if len(examples) < 3:
            examples.append(rel or ".")
        self.items[what] = (count + 1, examples)

    def lines(self) -> list[str]:
        return [
            f"{what}: {count} entr{'y' if count == 1 else 'ies'} (e.g. {', '.join(examples)})"
            for what, (count, examples) in sorted(self.items.items())
        ]


class MetadataCopier:
    def __init__(self) -> None:
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.euid = os.geteuid() if hasattr(os, "geteuid") else -1
        self.egid = os.getegid() if hasattr(os, "getegid") else -1
        self.groups = set(os.getgroups()) | {os.getegid()} if hasattr(os, "getgroups") else set()
        self.source_has_xattrs = hasattr(os, "listxattr")
        self.dropped = Dropped()

    def create_mode(self, entry: Entry) -> int:
        """The mode to create a file with: when it survives the umask (and no default ACL
        replaces the umask), no chmod is needed."""
        return entry.mode & 0o777

    def apply_fd(self, fd: int, src_fd: int, entry: Entry) -> None:
        """A regular file created by us with ``create_mode``, through its descriptor.

        ``src_fd`` is not read: the scan carries the source's attributes. System calls
        are skipped where the result is already right: a copy of 50,000 small files
        spends most of its time in them.
        """
        st = os.fstat(fd)  # what the directory gave it: its group, a mode past the umask
        chowned = (entry.uid, entry.gid) != (st.st_uid, st.st_gid)
        if chowned:
            self._owner(lambda: os.fchown(fd, entry.uid, entry.gid), entry)
        changed_acl = self.set_xattrs(fd, entry, follow=True)
        wanted = entry.mode & 0o7777
        if chowned or changed_acl or stat.S_IMODE(st.st_mode) != wanted:
            os.fchmod(fd, wanted)
        os.utime(fd, ns=(entry.atime_ns, entry.mtime_ns))

    def apply_path(self, path: str, src_path: str, entry: Entry) -> None:
        """A directory or a symlink (a symlink itself, never what it points to).

        ``src_path`` is not read: the scan carries the source's attributes."""
        link = entry.kind == "symlink"
        self._owner(lambda: os.chown(path, entry.uid, entry.gid, follow_symlinks=False), entry)
        self.set_xattrs(path, entry, follow=not link)
        if not link:  # Linux has no mode for a symlink itself
            os.chmod(path, entry.mode & 0o7777)
        os.utime(path, ns=(entry.atime_ns, entry.mtime_ns), follow_symlinks=False)

    def _owner(self, change: object, entry: Entry) -> None:
        if not self.as_root and (entry.uid != self.euid or entry.gid not in self.groups):
            self.dropped.add("owner (only root can give files away)", entry.rel)
            return
        try:
            change()  # type: ignore[operator]
        except OSError as err:
            if err.errno not in _REFUSED:
                raise
            self.dropped.add(f"owner ({err.strerror})", entry.rel)

    def set_xattrs(self, dst: int | str, entry: Entry, *, follow: bool) -> bool:
        """The source's attributes, and no others; True when an ACL was set or removed."""
        if not self.source_has_xattrs:
            return False
        try:
            present = os.listxattr(dst, follow_symlinks=follow)
        except OSError as err:
            if err.errno not in _NO_XATTRS:
                raise
            present = []
        wanted = dict(entry.xattrs)
        changed_acl = False
        for name in present:
            if name in wanted or name in UNCOMPARED_XATTRS:
                continue
            try:
                os.removexattr(dst, name, follow_symlinks=follow)
            except OSError as err:
                if err.errno == errno.ENODATA:
                    continue
                if err.errno not in _REFUSED:
                    raise
                self.dropped.add(f"removal of the inherited {_label(name)}", entry.rel)
                continue
            changed_acl = changed_acl or name.startswith(ACL_PREFIX)
        for name, value in entry.xattrs:
            try:
                os.setxattr(dst, name, value, follow_symlinks=follow)
            except OSError as err:
                if err.errno not in _REFUSED and err.errno not in _NO_XATTRS:
                    raise
                self.dropped.add(_label(name), entry.rel)
                continue
            changed_acl = changed_acl or name.startswith(ACL_PREFIX)
        return changed_acl


def _label(name: str) -> str:
    if name.startswith(ACL_PREFIX):
        return f"ACL ({name})"
    return f"extended attribute {name}"
