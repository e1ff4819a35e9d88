"""Targets that look fine and are not: a RAM filesystem, or a mount point typed wrong.

Both pass every other check: tmpfs is a local filesystem with working locks (the data
is simply gone at the next reboot), and a mistyped ``/mnt/volme2/OMERO`` is created,
parents and all, on the root filesystem, which then fills up instead of the new disk.
Only the mount table and the mount declarations (fstab, systemd units, autofs) are read.
"""

from __future__ import annotations

import os

from omero_tui.core.locks.declared_mounts import DeclaredMounts, read_declared
from omero_tui.core.mounts import MountTable
from omero_tui.core.relocation.checks import Check, warn
from omero_tui.core.relocation.plan import nearest_existing

RAM_FSTYPES = frozenset({"tmpfs", "ramfs"})
# What the admin types on the wizard's confirm page to move onto a RAM filesystem.
RAM_CONFIRMATION = "lost at reboot"
RAM_CODE = "relocation.target_in_ram"
MISTYPED_CODE = "relocation.target_mount_mistyped"


def ram_problem(target: str, table: MountTable) -> str | None:
    """One sentence when ``target`` would live in memory; None otherwise."""
    mount = table.mount_of(nearest_existing(target))
    if mount is None or mount.fstype not in RAM_FSTYPES:
        return None
    return (
        f"{target} is on {mount.fstype} at {mount.mount_point}, which lives in memory: "
        "everything there is lost at the next reboot"
    )


def mistyped_mount_problem(
    target: str, table: MountTable, declared: DeclaredMounts | None = None
) -> str | None:
    """One sentence when ``target`` looks like a mistyped or missing mount point."""
    existing = nearest_existing(target)
    mount = table.mount_of(existing)
    where = f"the filesystem at {mount.mount_point}" if mount else "another filesystem"
    if mount is not None and mount.mount_point == os.sep:
        where = "the root filesystem"
    declared = declared if declared is not None else read_declared()
    for declaration, point in declared.covering(target):
        if declaration.automount or table.is_mount_point(point):
            continue  # mounted now, or mounted on first access
        return (
            f"{point} is declared as a mount point ({declaration.declared_in}) but nothing "
            f"is mounted there, so {target} would be created on {where} instead; "
            "mount it first, or check the path"
        )
    parent = os.path.dirname(target)
    if existing != parent and mount is not None and mount.mount_point == os.sep:
        first_missing = _first_missing(existing, target)
        return (
            f"{first_missing} does not exist, so it would be created on the root filesystem "
            f"together with {target}; if a volume should be mounted there, the path may be "
            "mistyped"
        )
    return None


def _first_missing(existing: str, target: str) -> str:
    rest = os.path.relpath(target, existing).split(os.sep)[0]
    return os.path.join(existing, rest)


def trust_checks(
    target: str, table: MountTable, declared: DeclaredMounts | None = None
) -> list[Check]:
    """The preflight's warnings for a target that cannot be trusted as it looks."""
    checks = []
    ram = ram_problem(target, table)
    if ram:
        checks.append(warn(RAM_CODE, f"{ram}; going on needs an explicit confirmation", target))
    mistyped = mistyped_mount_problem(target, table, declared)
    if mistyped:
        checks.append(warn(MISTYPED_CODE, f"likely a mistyped mount point: {mistyped}", target))
    return checks
