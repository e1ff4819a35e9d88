"""What the admin is pointing at while choosing a target: cheap facts, asked per keystroke.

Only stat, statvfs and the mount table: no scan and no probe (those run in the
preflight), so the wizard can show free space and the filesystem type as the admin
types or browses, even over a slow link.
"""

from __future__ import annotations

import os

from omero_tui.core.config.windows_paths import looks_like_windows_path
from omero_tui.core.locks.fs import classify
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import frozen
from omero_tui.core.relocation.plan import RelocationRefused, check_target_text, nearest_existing
from omero_tui.core.relocation.target_trust import mistyped_mount_problem, ram_problem
from omero_tui.core.usage.format import human_bytes


@frozen
class TargetChoice:
    text: str  # as typed
    path: str | None  # absolute and normalised; None when the text is refused
    problem: str | None  # one line: why this text cannot be a target
    state: str = ""  # "does not exist yet" | "empty directory" | "not empty" | "not a directory"
    existing: str = ""  # the nearest directory that exists (where the space is measured)
    filesystem: str = ""  # "ext4 on /dev/vdb at /mnt/data"
    fs_kind: str = ""  # "local" | "remote" | "cluster" | "unknown"
    free_bytes: int | None = None
    total_bytes: int | None = None
    windows: bool = False
    # Why it cannot be trusted as it looks: in RAM, or a likely mistyped mount point.
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.problem:
            return self.problem
        parts = [self.state]
        if self.free_bytes is not None and self.total_bytes:
            pct = 100 * self.free_bytes / self.total_bytes
            parts.append(f"{human_bytes(self.free_bytes)} free ({pct:.0f}%)")
        if self.filesystem:
            parts.append(self.filesystem)
        return "; ".join(p for p in parts if p)


def describe_choice(text: str, table: MountTable | None = None) -> TargetChoice:
    windows = looks_like_windows_path(text)
    try:
        path = check_target_text(text)
    except RelocationRefused as err:
        return TargetChoice(text, None, str(err), windows=windows)
    existing = nearest_existing(path)
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            state = "not empty" if any(os.scandir(path)) else "empty directory"
        except OSError as err:
            state = f"unreadable ({err.strerror})"
    elif os.path.lexists(path):
        state = "not a directory" if not os.path.islink(path) else "a symlink"
    else:
        state = "does not exist yet (it will be created)"
    table = table or MountTable.read()
    mount = table.mount_of(existing)
    fs = classify(mount)
    filesystem = f"{fs.label} at {mount.mount_point}" if mount else ""
    try:
        vfs = os.statvfs(existing)
        free, total = vfs.f_bavail * vfs.f_frsize, vfs.f_blocks * vfs.f_frsize
    except OSError:
        free = total = None
    warnings = tuple(
        w for w in (ram_problem(path, table), mistyped_mount_problem(path, table)) if w
    )
    return TargetChoice(
        text,
        path,
        None,
        state=state,
        existing=existing,
        filesystem=filesystem,
        fs_kind=fs.kind,
        free_bytes=free,
        total_bytes=total,
        windows=windows,
        warnings=warnings,
    )
