"""The deep check: walk the repository and list what the server user cannot use.

A cancellable long operation. Every entry is looked at with ``lstat`` and its ACL; a
file must be readable, a directory readable, enterable and writable (write and search
granted together, as creating a file needs), and nothing below a directory the user
cannot enter is reachable, so everything below one counts too. The walk does not
descend through symlinks (it stays inside the tree it was given, loops cannot trap
it), but the server reads through them: in-place imports leave links to files
elsewhere, so each link's target must be readable, the directories on the way to it
included. The first ``limit`` problems are kept with their details, all are counted.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence

from omero_tui.core.perms.access import (
    ACL_ACCESS_XATTR,
    Access,
    Identity,
    effective_access,
    is_extended,
    is_read_only_fs,
    parse_acl_xattr,
    path_blocked_at,
    read_acl,
)
from omero_tui.core.record import frozen

DEFAULT_LIMIT = 50
PROGRESS_INTERVAL_S = 0.1  # at most ten reports a second


@frozen
class DeepProgress:
    scanned: int
    problems: int
    current: str  # the directory being walked


@frozen
class DeepProblem:
    path: str
    is_dir: bool
    read: bool
    write: bool  # meaningful for directories only
    traverse: bool
    owner_uid: int
    mode_bits: int  # st_mode & 0o7777
    blocked: bool  # unusable only because a directory above cannot be entered
    link_target: str | None = None  # a symlink whose target the user cannot read


@frozen
class DeepTop:
    """A top-level entry of a walked root with problems below it: what a fix targets.

    Counted over every problem, not only the listed ones, so a fix plan covers them all.
    """

    path: str
    problems: int
    other_owner: bool  # some problem entry belongs to another user
    owner_bits_short: bool  # some problem entry's owner lacks rw (files) or rwx (dirs)


@frozen
class DeepResult:
    roots: tuple[str, ...]
    scanned: int
    problems: tuple[DeepProblem, ...]  # the first ``limit``
    problems_total: int
    problem_tops: tuple[DeepTop, ...]  # per top-level entry of a root, all problems counted
    unreadable_total: int  # cannot be read (or, for a directory, entered)
    unwritable_dirs_total: int
    world_writable_total: int
    console_denied: int  # entries the console itself could not look at
    cancelled: bool
    seconds: float
    # Symlinks whose target the user cannot read (counted in problems_total, not in
    # problem_tops: a fix of the repository's own tree does not reach them).
    link_unreadable_total: int = 0


def deep_check(
    roots: Sequence[str],
    who: Identity,
    *,
    limit: int = DEFAULT_LIMIT,
    progress: Callable[[DeepProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> DeepResult:
    """Walk every root (the roots themselves are the shallow check's business)."""
    walk = _Walk(who, limit, progress, cancel)
    walk.real_roots = tuple(os.path.realpath(root) for root in roots)
    started = time.monotonic()
    for root in roots:
        if walk.cancelled():
            break
        walk.tree(root)
    walk.report(force=True)
    return DeepResult(
        roots=tuple(roots),
        scanned=walk.scanned,
        problems=tuple(walk.kept),
        problems_total=walk.total,
        problem_tops=tuple(DeepTop(path, *flags) for path, flags in sorted(walk.tops.items())),
        unreadable_total=walk.unreadable,
        unwritable_dirs_total=walk.unwritable,
        world_writable_total=walk.world_writable,
        console_denied=walk.denied,
        cancelled=walk.cancelled(),
        seconds=time.monotonic() - started,
        link_unreadable_total=walk.links,
    )


class _Walk:
    def __init__(
        self,
        who: Identity,
        limit: int,
        progress: Callable[[DeepProgress], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self.who, self.limit, self.progress, self.cancel = who, limit, progress, cancel
        self.scanned = self.total = self.unreadable = self.unwritable = 0
        self.world_writable = self.denied = self.links = 0
        self.blocked_dirs: dict[str, bool] = {}  # real directory: cannot be reached
        self.real_roots: tuple[str, ...] = ()
        self.kept: list[DeepProblem] = []
        self.tops: dict[str, tuple[int, bool, bool]] = {}
        self.root = ""
        self.no_acls: set[int] = set()  # st_dev of filesystems without ACL support
        self.current = ""
        self._last_report = 0.0

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def tree(self, root: str) -> None:
        self.root = root
        try:
            root_st = os.stat(root)
        except OSError:
            self.denied += 1
            return
        if not stat.S_ISDIR(root_st.st_mode):
            return
        # The root's own ACL, where it really is (a symlinked data dir carries none itself).
        reach = self._access(os.path.realpath(root), root_st, False)
        # Nothing below a root the user cannot even reach is usable (the kernel agrees).
        enterable = reach.traverse and path_blocked_at(root, self.who) is None
        # (directory, can the user enter it, is its filesystem read-only, its st_dev)
        stack = [(root, enterable, is_read_only_fs(root), root_st.st_dev)]
        while stack and not self.cancelled():
            directory, enterable, read_only, dev = stack.pop()
            self.current = directory
            try:
                with os.scandir(directory) as entries:
                    children = list(entries)
            except OSError:
                self.denied += 1
                continue
            for entry in children:
                if self.cancelled():
                    return
                sub = self._entry(entry, enterable, read_only, dev)
                if sub is not None:
                    stack.append(sub)
                self.report()

    def _entry(
        self, entry: os.DirEntry[str], reachable: bool, read_only: bool, parent_dev: int
    ) -> tuple[str, bool, bool, int] | None:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            self.denied += 1
            return None
        self.scanned += 1
        if stat.S_ISLNK(st.st_mode):
            self._link(entry.path, st, reachable)  # a link's own mode means nothing
            return None
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir and st.st_dev != parent_dev:
            read_only = is_read_only_fs(entry.path)  # a mount point inside the tree
        access = self._access(entry.path, st, read_only)
        read = reachable and access.read
        traverse = reachable and access.traverse
        # A directory is writable for the server when it can make files there.
        write = reachable and access.write and (access.create or not is_dir)
        if st.st_mode & 0o002 and not (is_dir and st.st_mode & 0o1000):
            self.world_writable += 1
        self._problem(entry.path, st, is_dir, read, write, traverse, blocked=not reachable)
        return (entry.path, traverse, read_only, st.st_dev) if is_dir else None

    def _problem(
        self,
        path: str,
        st: os.stat_result,
        is_dir: bool,
        read: bool,
        write: bool,
        traverse: bool,
        *,
        blocked: bool,
    ) -> None:
        """Count the entry when the user cannot use it, keep its details while room."""
        bad_read = not read or (is_dir and not traverse)
        bad_write = is_dir and not write
        if not (bad_read or bad_write):
            return
        self.total += 1
        self._count_top(path, st, is_dir)
        self.unreadable += bad_read
        self.unwritable += bad_write
        if len(self.kept) < self.limit:
            self.kept.append(
                DeepProblem(
                    path, is_dir, read, write, traverse, st.st_uid, stat.S_IMODE(st.st_mode),
                    blocked=blocked,
                )
            )  # fmt: skip

    def _link(self, path: str, st: os.stat_result, reachable: bool) -> None:
        try:
            target = os.stat(path)
            real = os.path.realpath(path)
        except OSError:
            return  # dangling, or a loop: no permission can make it readable
        if not reachable:
            # Blocked like everything else below a closed directory, and fixed with it.
            self._problem(path, st, False, False, False, False, blocked=True)
            return
        if any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in self.real_roots):
            return  # the walk meets the target where it lies, and judges it there
        is_dir = stat.S_ISDIR(target.st_mode)
        try:
            acl = read_acl(real)
        except (OSError, ValueError):
            acl = None
        access = effective_access(target, acl, self.who)
        parent = os.path.dirname(real)
        if parent not in self.blocked_dirs:
            self.blocked_dirs[parent] = path_blocked_at(real, self.who) is not None
        if access.read and (access.traverse or not is_dir) and not self.blocked_dirs[parent]:
            return
        self.total += 1
        self.links += 1
        if len(self.kept) < self.limit:
            self.kept.append(
                DeepProblem(
                    path,
                    is_dir,
                    access.read,
                    access.write,
                    access.traverse,
                    target.st_uid,
                    stat.S_IMODE(target.st_mode),
                    blocked=self.blocked_dirs[parent],
                    link_target=real,
                )
            )

    def _count_top(self, path: str, st: os.stat_result, is_dir: bool) -> None:
        relative = os.path.relpath(path, self.root)
        top = os.path.join(self.root, relative.split(os.sep, 1)[0])
        count, other, short = self.tops.get(top, (0, False, False))
        need = 0o700 if is_dir else 0o600
        self.tops[top] = (
            count + 1,
            other or st.st_uid != self.who.uid,
            short or (st.st_mode & need) != need,
        )

    def _access(self, path: str, st: os.stat_result, read_only: bool) -> Access:
        acl = None
        if st.st_dev not in self.no_acls:
            try:
                data = os.getxattr(path, ACL_ACCESS_XATTR, follow_symlinks=False)
            except OSError as err:
                if err.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    self.no_acls.add(st.st_dev)  # this filesystem has none: stop asking
                data = None
            if data:
                try:
                    entries = parse_acl_xattr(data)
                except ValueError:
                    entries = ()
                acl = entries if is_extended(entries) else None
        return effective_access(st, acl, self.who, read_only_fs=read_only)

    def report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.progress(DeepProgress(self.scanned, self.total, self.current))
