"""Proof that the old copy ``--remove-source`` deletes is not the new one.

A bind mount can make the old path lead to the new copy (``mount --bind NEW OLD``, or
the new volume mounted again at the old copy's parent, as admins do to keep old paths
working). Paths then look different while they name one directory: the re-verification
compared the copy with itself, passed, and the removal deleted the live repository. So
directories are told apart here by what the kernel says they are, ``(st_dev, st_ino)``
after every mount on the way, never by their names; mounts are read from the mount
table; and every configuration source must have stopped naming the old path.

Everything here raises :class:`RelocationRefused` with one sentence that ends in
"nothing was deleted" (or says how far the deletion got).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable

from omero_tui.core.config.xml_file import ACTIVE, ConfigDocument
from omero_tui.core.mounts import MountInfo, MountTable
from omero_tui.core.record import frozen
from omero_tui.core.relocation.plan import RelocationRefused

Identity = tuple[int, int]  # (st_dev, st_ino)


def identity(path: str) -> Identity:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def ancestors(path: str) -> list[Identity]:
    """Identities of ``path``'s parents up to ``/``, as the kernel resolves each one."""
    found = []
    current = os.path.abspath(path)
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return found
        found.append(identity(parent))
        current = parent


@frozen
class Roots:
    """The two roots as they were when the removal was allowed to start."""

    source: str
    target: str
    source_id: Identity
    target_id: Identity

    def still_apart(self, *, deleted: int = 0) -> None:
        """Checked again before every directory is deleted: a mount made meanwhile must
        stop the deletion at once."""
        now = check_apart(self.source, self.target, deleted=deleted)
        if now != (self.source_id, self.target_id):
            raise RelocationRefused(
                "relocation.remove_identity_changed",
                f"{self.source} or {self.target} is no longer the directory it was when the "
                f"removal began (was something mounted?); {_how_far(deleted)}",
            )


def _how_far(deleted: int) -> str:
    if not deleted:
        return "nothing was deleted"
    return f"stopped after deleting {deleted} entries of the old copy"


def check_apart(source: str, target: str, *, deleted: int = 0) -> tuple[Identity, Identity]:
    """The old root is not the new root, not inside it and not above it."""
    refuse = _refuser(deleted)
    try:
        if stat.S_ISLNK(os.lstat(source).st_mode):
            refuse(f"{source} is now a symlink, so deleting it could reach anywhere")
        source_id, target_id = identity(source), identity(target)
        source_up, target_up = ancestors(source), ancestors(target)
    except OSError as err:
        refuse(f"{err.filename or source} cannot be checked ({err.strerror or err})")
    if source_id == target_id:
        refuse(
            f"{source} is the same directory as the new copy {target} (device and inode "
            "are equal: a bind mount or a symlink leads the old path there)"
        )
    if target_id in source_up:
        refuse(f"the old copy {source} is inside the new copy {target}")
    if source_id in target_up:
        refuse(f"the new copy {target} is inside the old copy {source}")
    return source_id, target_id


def _refuser(deleted: int):  # noqa: ANN202 - a tiny closure
    def refuse(reason: str) -> None:
        raise RelocationRefused("relocation.remove_same_tree", f"{reason}; {_how_far(deleted)}")

    return refuse


def check_mounts(
    source: str,
    target: str,
    table: MountTable,
    *,
    source_device_before: list[int] | None = None,
    deleted: int = 0,
) -> None:
    """Nothing on the old path is a mount of the target's filesystem, and no mount lies
    inside the old copy (the deletion never crosses one)."""
    refuse = _refuser(deleted)
    try:
        target_dev = os.stat(target).st_dev
        source_dev = os.stat(source).st_dev
    except OSError as err:
        refuse(f"{err.filename or source} cannot be checked ({err.strerror or err})")
    target_device = [os.major(target_dev), os.minor(target_dev)]
    inside = [m for m in table.mounts if _strictly_inside(m.mount_point, source)]
    if inside:
        refuse(
            f"{inside[0].mount_point} is a mount point inside the old copy "
            f"({inside[0].describe()}); unmount it first, the removal never crosses a mount"
        )
    # The filesystem the old copy was on when the relocation began may be the target's
    # (a copy out of a bind mount); then only the inode checks can tell them apart.
    was_shared = source_device_before is not None and source_device_before == target_device
    holding = table.mount_of(source)
    if not was_shared and (
        source_dev == target_dev or (holding is not None and _device(holding) == target_device)
    ):
        where = f" ({holding.describe()})" if holding is not None else ""
        refuse(
            f"the old path {source} is on the new copy's filesystem{where}, not on the one "
            "it was copied from (a bind mount keeping the old path working?)"
        )
    if source_device_before is not None and [os.major(source_dev), os.minor(source_dev)] != list(
        source_device_before
    ):
        where = f" ({holding.describe()})" if holding is not None else ""
        refuse(
            f"the old path {source} is now on another filesystem{where} than when the "
            "relocation began (was something mounted there?)"
        )


def _device(mount: MountInfo) -> list[int] | None:
    return list(mount.device) if mount.device is not None else None


def _strictly_inside(path: str, top: str) -> bool:
    return path != top and path.startswith(top.rstrip("/") + "/")


def device_of(path: str) -> list[int]:
    """[major, minor] of the filesystem ``path`` is on (recorded when a relocation begins)."""
    dev = os.stat(path).st_dev
    return [os.major(dev), os.minor(dev)]


# ------------------------------------------------------------------ configuration sources


def names_old_path(pairs: Iterable[tuple[str, str]], old_paths: Iterable[str]) -> list[str]:
    """The (source, value) pairs whose value is an old path or a path below one.

    A source is any place the server's configuration comes from, named for the admin:
    "config.xml profile default: omero.data.dir", an Ansible ``.omero`` file, a
    ``CONFIG_omero_data_dir`` variable, a systemd unit.
    """
    olds = {_norm(p) for p in old_paths if p}
    found = []
    for source, value in pairs:
        text = _norm(value.strip().strip("\"'"))
        if text and any(text == old or text.startswith(old + "/") for old in olds):
            found.append(f"{source} = {value}")
    return found


def _norm(path: str) -> str:
    path = path.replace("\\", "/")
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/") if path != "/" else path


def config_xml_pairs(doc: ConfigDocument) -> list[tuple[str, str]]:
    """Every property of every profile, ``__ACTIVE__`` included."""
    pairs = []
    for profile in [ACTIVE, *doc.profile_names()]:
        for key, value in doc.properties(profile).items():
            pairs.append((f"config.xml profile {profile}: {key}", value))
    return pairs


def check_nothing_names(
    pairs: Iterable[tuple[str, str]], old_paths: Iterable[str], *, deleted: int = 0
) -> None:
    named = names_old_path(pairs, old_paths)
    if named:
        more = f" (and {len(named) - 1} more)" if len(named) > 1 else ""
        raise RelocationRefused(
            "relocation.remove_still_named",
            f"{named[0]}{more} still names the old copy: a server started with it would "
            f"use a deleted repository; change it first; {_how_far(deleted)}",
        )


def other_source_pairs(server_dir: str | None, env: dict[str, str]) -> list[tuple[str, str]]:
    """What can be seen here of the sources that rebuild config.xml: ``CONFIG_*``
    variables (the Docker image) and the words of ``$OMERODIR/config/*.omero`` (Ansible's
    ``omero load`` files). A fuller reader of each source can feed its own pairs."""
    pairs = [(f"environment variable {k}", v) for k, v in env.items() if k.startswith("CONFIG_")]
    folder = os.path.join(server_dir, "config") if server_dir else ""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".omero")) if folder else []
    except OSError:
        names = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            if line.lstrip().startswith("#"):
                continue
            pairs.extend((f"{path} line {number}", word) for word in line.split())
    return pairs


class DeletionGuard:
    """Asked before anything in a directory is deleted and again before the directory
    itself goes: the roots are still apart, the directory is on the old copy's
    filesystem and is not the new copy, and (re-read at most twice a second) no mount
    has appeared on the old path."""

    def __init__(self, roots: Roots, source_device_before: list[int] | None) -> None:
        self.roots = roots
        self.source_device_before = source_device_before
        self.next_table = 0.0

    def check(self, path: str, st: os.stat_result, deleted: int) -> None:
        self.roots.still_apart(deleted=deleted)
        if st.st_dev != self.roots.source_id[0]:
            raise RelocationRefused(
                "relocation.remove_crosses_mount",
                f"{path} is on another filesystem than the old copy (a mount inside it?); "
                f"{_how_far(deleted)}",
            )
        if (st.st_dev, st.st_ino) == self.roots.target_id:
            raise RelocationRefused(
                "relocation.remove_same_tree",
                f"{path} is the new copy {self.roots.target}; {_how_far(deleted)}",
            )
        now = time.monotonic()
        if now >= self.next_table:
            self.next_table = now + 0.5
            check_mounts(
                self.roots.source,
                self.roots.target,
                MountTable.read(),
                source_device_before=self.source_device_before,
                deleted=deleted,
            )
