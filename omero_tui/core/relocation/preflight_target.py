"""Preflight of the target: empty, big enough, a filesystem that keeps OMERO's promises.

Free space and inodes come from statvfs of the target itself; locking and case
sensitivity are tried there (a probe file, removed again, with the directory's times
given back so even a dry run leaves no trace), because a table of filesystem types
only guesses.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator

from omero_tui.core.findings import Severity
from omero_tui.core.locks.fs import classify
from omero_tui.core.mounts import MountTable
from omero_tui.core.perms.access import is_read_only_fs
from omero_tui.core.relocation.checks import Check, fail, passed, warn
from omero_tui.core.relocation.plan import RelocationPlan, nearest_existing
from omero_tui.core.relocation.target_trust import RAM_FSTYPES
from omero_tui.core.relocation.tree_scan import PATH_MAX, TreeScan
from omero_tui.core.usage.format import human_bytes

SPACE_MARGIN_BYTES = 64 << 20
SPACE_MARGIN_FRACTION = 0.02
IGNORED_IN_EMPTY_TARGET = ("lost+found",)  # a fresh ext2/3/4 filesystem has it


def target_checks(plan: RelocationPlan) -> list[Check]:
    target = plan.target
    if os.path.islink(target):
        # Followed by the copy but not by a rename or by a rollback's own bookkeeping
        # (the link's mode is not the directory's): the real directory must be named.
        return [
            fail(
                "relocation.target_symlink",
                f"{target} is a symbolic link; give the directory it points to "
                f"({os.path.realpath(target)}) instead",
                target,
            )
        ]
    if os.path.lexists(target) and not os.path.isdir(target):
        return [
            fail(
                "relocation.target_not_directory", f"{target} exists and is not a directory", target
            )
        ]
    if os.path.isdir(target):
        try:
            names = [n for n in os.listdir(target) if n not in IGNORED_IN_EMPTY_TARGET]
        except OSError as err:
            return [
                fail(
                    "relocation.target_unreadable",
                    f"{target} cannot be listed ({err.strerror})",
                    target,
                )
            ]
        if names:
            return [
                fail(
                    "relocation.target_not_empty",
                    f"{target} is not empty (it holds {names[0]}"
                    f"{f' and {len(names) - 1} more' if len(names) > 1 else ''}); "
                    "choose an empty or new directory so nothing is overwritten",
                    target,
                )
            ]
        return [passed("relocation.target_empty", f"{target} exists and is empty")]
    parent = nearest_existing(target)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        return [
            fail(
                "relocation.target_parent",
                f"{target} cannot be created: {parent} is not a writable directory",
                parent,
            )
        ]
    return [passed("relocation.target_new", f"{target} will be created in {parent}")]


def capacity_checks(plan: RelocationPlan, scan: TreeScan, where: str) -> list[Check]:
    try:
        vfs = os.statvfs(where)
    except OSError as err:
        return [fail("relocation.space", f"cannot read free space of {where}: {err.strerror}")]
    unit = vfs.f_frsize or 4096
    need = sum(-(-e.blocks * 512 // unit) * unit for e in scan.entries if e.kind != "hardlink")
    margin = max(SPACE_MARGIN_BYTES, int(need * SPACE_MARGIN_FRACTION))
    free = vfs.f_bavail * unit
    checks = []
    if need + margin > free:
        checks.append(
            fail(
                "relocation.space",
                f"the copy needs {human_bytes(need)} plus {human_bytes(margin)} "
                f"headroom but {plan.target} has {human_bytes(free)} free",
                plan.target,
            )
        )
    else:
        checks.append(
            passed(
                "relocation.space",
                f"needs {human_bytes(need)} (+{human_bytes(margin)} headroom), "
                f"{human_bytes(free)} free",
            )
        )
    if vfs.f_files:  # 0: the filesystem allocates inodes as it goes
        if scan.inodes > vfs.f_favail:
            checks.append(
                fail(
                    "relocation.inodes",
                    f"the copy needs {scan.inodes:,} inodes but {plan.target} has "
                    f"{vfs.f_favail:,} free",
                    plan.target,
                )
            )
        else:
            checks.append(
                passed("relocation.inodes", f"needs {scan.inodes:,} inodes, {vfs.f_favail:,} free")
            )
    return checks


def filesystem_checks(
    plan: RelocationPlan,
    table: MountTable,
    where: str,
    probe_locks: bool,
    lock_probe: Callable[[str], str | None] | None,
) -> list[Check]:
    checks = []
    if is_read_only_fs(where):
        return [fail("relocation.target_read_only", f"{where} is on a read-only filesystem", where)]
    mount = table.mount_of(where)
    fs = classify(mount)
    concerns = [c for c in fs.concerns if c.severity.rank >= Severity.WARNING.rank]
    if fs.remote or fs.kind == "unknown" or concerns:
        detail = (
            concerns[0].message
            if concerns
            else (
                "OMERO needs working file locks on every repository file, which network and "
                "unknown filesystems may not give"
            )
        )
        checks.append(
            warn("relocation.target_filesystem", f"the target is on {fs.label}: {detail}", where)
        )
    elif mount is None or mount.fstype not in RAM_FSTYPES:  # RAM: trust_checks warns
        checks.append(passed("relocation.target_filesystem", f"the target is on {fs.label}"))
    if probe_locks:
        with times_kept(where):
            failure = (lock_probe or _lock_probe)(where)
        if failure:
            checks.append(
                fail(
                    "relocation.target_locking",
                    f"file locks do not work in {where}: {failure}; OMERO's repository needs them",
                    where,
                )
            )
        else:
            checks.append(
                passed(
                    "relocation.target_locking",
                    "flock and fcntl locks work between two processes there",
                )
            )
    return checks


def _lock_probe(directory: str) -> str | None:
    from omero_tui.core.locks.probe import run

    result = run([directory], cancel=threading.Event())[0]
    if result.passed:
        return None
    if result.error:
        return result.error
    if result.hung:
        return "a lock request never answered"
    failing = next((k.failure for k in result.kinds if k.failure), None) or result.write
    return f"{failing.name}: {failing.detail}" if failing else "the probe failed"


def name_checks(plan: RelocationPlan, scan: TreeScan, where: str) -> list[Check]:
    checks = []
    room = PATH_MAX - 1 - len(os.fsencode(plan.target)) - 1  # for a rel path below it
    if scan.longest_rel > room:
        first = next((e for e in scan.entries if len(os.fsencode(e.rel)) > room), None)
        rel_size = len(os.fsencode(first.rel)) if first else scan.longest_rel
        what = os.path.join(plan.source, first.rel) if first else "the deepest entry"
        checks.append(
            fail(
                "relocation.path_too_long",
                f"{what} would get a {len(os.fsencode(plan.target)) + 1 + rel_size}-byte "
                f"path in {plan.target}, beyond the {PATH_MAX - 1} bytes Linux allows "
                "(PATH_MAX)",
                plan.target,
            )
        )
    try:
        name_max = os.statvfs(where).f_namemax
    except OSError:
        name_max = 255
    if name_max and scan.longest_name > name_max:
        first = next((e for e in scan.entries if _name_bytes(e.rel) > name_max), None)
        what = f"the name of {os.path.join(plan.source, first.rel)}" if first else "a name"
        size = _name_bytes(first.rel) if first else scan.longest_name
        checks.append(
            fail(
                "relocation.name_too_long",
                f"{what} is {size} bytes long, beyond the target filesystem's limit of {name_max}",
                plan.target,
            )
        )
    with times_kept(where):
        insensitive = case_insensitive(where)
    if insensitive and scan.case_collisions:
        a, b = scan.case_collisions[0]
        checks.append(
            fail(
                "relocation.case_collision",
                f"the target ignores case, and {a} and {b} differ only in case: "
                "one would overwrite the other",
                plan.target,
            )
        )
    elif insensitive:
        checks.append(
            warn(
                "relocation.case_insensitive",
                "the target filesystem ignores case (no names collide now, but "
                "OMERO may later create names that would)",
            )
        )
    return checks


def _name_bytes(rel: str) -> int:
    return len(os.fsencode(rel.rsplit("/", 1)[-1]))


@contextlib.contextmanager
def times_kept(directory: str) -> Iterator[None]:
    """The probes create and delete a file there: give the directory its times back, so
    a dry run leaves no trace at all."""
    try:
        st = os.stat(directory)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns))


def case_insensitive(directory: str) -> bool | None:
    """Try it: create a probe file and look for it under another case. None if we cannot."""
    name = f".omero-tui-case-{secrets.token_hex(4)}"
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    os.close(fd)
    try:
        return os.path.exists(os.path.join(directory, name.upper()))
    finally:
        os.unlink(path)
