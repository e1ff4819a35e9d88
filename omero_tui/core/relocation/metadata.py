"""Give a copied entry its source's owner, mode, extended attributes, ACLs and times.

Order matters: owner first (``chown`` clears set-uid/set-gid bits), then the mode,
then extended attributes (POSIX ACLs are the ``system.posix_acl_*`` attributes, and
setting one also sets the mode's group bits to the ACL mask, as on the source), and
the times last, in nanoseconds, because every other change touches the inode.

What a filesystem refuses (no ACLs on the target, ``security.*`` labels, owners when
not root) is not fatal: it is counted per attribute and reported, because an ACL that
gave the server user its access is exactly what an admin must hear about.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from omero_tui.core.relocation.tree_scan import Entry

_REFUSED = {errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.E2BIG}
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


@dataclass
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
        self.umask = current_umask()
        self.groups = set(os.getgroups()) | {os.getegid()} if hasattr(os, "getgroups") else set()
        self.source_has_xattrs = hasattr(os, "listxattr")
        self.dropped = Dropped()

    def create_mode(self, entry: Entry) -> int:
        """The mode to create a file with: when it survives the umask, no chmod is needed."""
        return entry.mode & 0o777

    def apply_fd(self, fd: int, src_fd: int, entry: Entry) -> None:
        """A regular file created by us with ``create_mode``, through its descriptor.

        System calls are skipped where the result is already right: a copy of 50,000
        small files spends most of its time in them.
        """
        chowned = (entry.uid, entry.gid) != (self.euid, self.egid)
        if chowned:
            self._owner(lambda: os.fchown(fd, entry.uid, entry.gid), entry)
        wanted = entry.mode & 0o7777
        if chowned or self.umask is None or wanted != wanted & ~self.umask & 0o777:
            os.fchmod(fd, wanted)
        self._xattrs(src_fd, fd, entry, follow=True)
        os.utime(fd, ns=(entry.atime_ns, entry.mtime_ns))

    def apply_path(self, path: str, src_path: str, entry: Entry) -> None:
        """A directory or a symlink (a symlink itself, never what it points to)."""
        link = entry.kind == "symlink"
        self._owner(lambda: os.chown(path, entry.uid, entry.gid, follow_symlinks=False), entry)
        if not link:  # Linux has no mode for a symlink itself
            os.chmod(path, entry.mode & 0o7777)
        self._xattrs(src_path, path, entry, follow=not link)
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

    def _xattrs(self, src: int | str, dst: int | str, entry: Entry, *, follow: bool) -> None:
        if not self.source_has_xattrs:
            return
        try:
            names = os.listxattr(src, follow_symlinks=follow)
        except OSError as err:
            if err.errno in _NO_XATTRS:
                return
            raise
        for name in names:
            try:
                value = os.getxattr(src, name, follow_symlinks=follow)
            except OSError as err:
                if err.errno in (errno.ENODATA, *_REFUSED):
                    continue
                raise
            try:
                os.setxattr(dst, name, value, follow_symlinks=follow)
            except OSError as err:
                if err.errno not in _REFUSED:
                    raise
                self.dropped.add(_label(name), entry.rel)


def current_umask() -> int | None:
    """The process umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _label(name: str) -> str:
    if name.startswith("system.posix_acl"):
        return f"ACL ({name})"
    return f"extended attribute {name}"
