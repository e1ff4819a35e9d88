"""The fix plan: the fewest exact commands that give the server user what it needs.

Read from a permission report (and its deep check, when one was run). The commands
are what an admin would type (``chown -R USER:GROUP DIR``, ``chmod -R u+rwX DIR``,
``chmod g+s DIR``, ``setfacl -R -m u:USER:rwX DIR`` where ACLs are in use, ``icacls
DIR /grant USER:(OI)(CI)M /T`` on Windows); each step also carries what applying it
means, so ``perms_apply`` can do exactly that through Python and record every
previous state. Never ``chmod 777``, never a world-write: steps only add rights for
the owner, the user's group class or a named ACL entry, and only ever take away
world-write.
"""

from __future__ import annotations

import ntpath
import os
import shlex
from collections.abc import Iterable

from omero_tui.core.mounts import MountTable
from omero_tui.core.perms.access import X, perm_text
from omero_tui.core.perms.check import DirAccess, PermsReport
from omero_tui.core.perms.icacls import grant_command
from omero_tui.core.perms.server_user import ServerUser
from omero_tui.core.record import frozen, replace

# What a rwX grant means for u, g, o (GNU chmod's X: directories, and files someone runs).
RW = 0o6


@frozen
class FixStep:
    command: str  # what an admin would type
    action: str  # "chown" | "chmod" | "setfacl" | "icacls"
    path: str
    recursive: bool
    why: str  # the problem it fixes, in words
    uid: int | None = None  # chown: new owner
    gid: int | None = None  # chown: new group (None keeps each entry's group)
    add: int = 0  # chmod: mode bits to add
    remove: int = 0  # chmod: mode bits to take away
    who: str = ""  # chmod: "u", "g" or "o", for the capital-X rule
    capital_x: bool = False  # rwX: execute only for directories and files someone may run
    acl_uid: int | None = None  # setfacl -m u:UID:PERMS
    acl_perms: int = 0
    acl_default: bool = False  # also the default ACL of directories (setfacl -d)
    acl_mask: int | None = None  # the mask to set (m::); None: recalculated, as setfacl does


@frozen
class FixPlan:
    user: str
    platform: str  # "posix" | "windows"
    steps: tuple[FixStep, ...]
    manual: tuple[str, ...]  # what only the admin can do (remount a read-only filesystem)
    cannot_apply: str | None  # why this console cannot apply the steps; None when it can

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(step.command for step in self.steps)


def plan_fix(report: PermsReport, *, euid: int | None = None) -> FixPlan:
    user = report.user
    if report.platform == "windows":
        steps = _windows_steps(report)
        why = "applying on Windows is not built in: run the commands in an elevated prompt"
        return FixPlan(user.name, "windows", tuple(steps), (), why if steps else None)
    steps: list[FixStep] = []
    if not user.identity.is_root:
        steps += _ancestor_steps(report.rows, user)
        steps += _repository_steps(report, user)
    steps += _hygiene_steps(report)
    manual = _manual(report.rows) + _link_notes(report, user)
    euid = os.geteuid() if euid is None and hasattr(os, "geteuid") else euid
    return FixPlan(user.name, "posix", tuple(steps), manual, cannot_apply(steps, euid))


def cannot_apply(steps: list[FixStep] | tuple[FixStep, ...], euid: int | None) -> str | None:
    """Why this console's user cannot do ``steps`` (only root may give files away)."""
    if not steps or euid == 0:
        return None
    if any(step.action == "chown" for step in steps):
        return "changing owners needs root: run `sudo omero-tui perms --fix`"
    for step in steps:
        try:
            owner = os.stat(step.path).st_uid
        except OSError:
            continue
        if owner != euid:
            return f"only root or its owner can change {step.path}: run the fix as root"
    return None


def _ancestor_steps(rows: tuple[DirAccess, ...], user: ServerUser) -> list[FixStep]:
    steps = []
    for row in rows:
        if row.kind != "ancestor" or not row.present or "x" in row.own:
            continue
        why = f"{user.name} cannot enter {row.path}"
        if row.via == "owner":
            steps.append(_chmod(row.path, "u", X, False, why))
        elif row.acl and row.via != "other":
            perms = _bits(row.own) | X  # keep what the user has, add search
            # setfacl would recalculate the mask from every group-class entry, quietly
            # giving a named group the write its mask held back on a directory that is
            # not the server's; widen the mask by only what the server user needs.
            mask = _acl_mask(row.acl) | perms
            steps.append(
                _setfacl(row.path, user, perms, False, why, text=perm_text(perms), mask=mask)
            )
        elif row.via == "group":
            steps.append(_chmod(row.path, "g", X, False, why))
        else:
            steps.append(_chmod(row.path, "o", X, False, why))
    return steps


def _repository_steps(report: PermsReport, user: ServerUser) -> list[FixStep]:
    # Everything is compared and acted on where the data really is: a recursive step
    # does not cross a symlink (nor does ``chown -R``), so a symlinked subdirectory is
    # a tree of its own, never "below" the data dir it is linked from.
    repo = _real_rows(r for r in report.rows if r.kind == "repository" and r.present)
    deep = [
        replace(top, path=os.path.realpath(top.path))
        for top in (report.deep.problem_tops if report.deep else ())
    ]
    targets: list[DirAccess] = []
    for row in sorted(repo, key=lambda r: len(r.path)):
        if _needs_fix(row, user) and not any(_under(row.path, t.path) for t in targets):
            targets.append(row)
    # What only the deep check saw: fix it from the closest row above it.
    for problem in deep:
        if any(_under(problem.path, t.path) for t in targets):
            continue
        holders = [r for r in repo if _under(problem.path, r.path)]
        if holders:
            closest = max(holders, key=lambda r: len(r.path))
            targets = [t for t in targets if not _under(t.path, closest.path)] + [closest]
    steps: list[FixStep] = []
    for target in sorted(targets, key=lambda t: t.path):
        below = [r for r in repo if _under(r.path, target.path) and r.path != target.path]
        deep_below = [p for p in deep if _under(p.path, target.path)]
        # Recursive when something below needs it too, or when nothing below is known.
        recursive = bool(deep_below) or any(_needs_fix(r, user) for r in below) or not below
        why = f"{user.name} cannot use {target.path} fully"
        if target.acl and target.uid != user.uid:
            text = "rwX"
            steps.append(_setfacl(target.path, user, RW, recursive, why, text=text, capital=True))
            steps.append(
                _setfacl(target.path, user, RW, recursive, why, text=text, capital=True, dflt=True)
            )
            continue
        if (
            target.uid != user.uid
            or any(r.uid != user.uid for r in below)
            or any(top.other_owner for top in deep_below)
        ):
            steps.append(_chown(target, below, user, recursive, why))
        if any(_owner_short(r.mode_bits, True) for r in [target, *below]) or any(
            top.owner_bits_short for top in deep_below
        ):
            steps.append(_chmod(target.path, "u", RW, recursive, why, capital=True))
    return steps


def _real_rows(rows: Iterable[DirAccess]) -> list[DirAccess]:
    """Rows with their real paths, one per real directory, errors left out."""
    seen: dict[str, DirAccess] = {}
    for row in rows:
        if row.error:
            continue
        real = os.path.realpath(row.path)
        seen.setdefault(real, replace(row, path=real))
    return list(seen.values())


def _needs_fix(row: DirAccess, user: ServerUser) -> bool:
    if row.read_only_fs:
        return False  # no permission change helps; see the manual steps
    return row.own != "rwx" or row.create is False or "perms.other_owner" in row.problems


def _owner_short(mode_bits: int, is_dir: bool) -> bool:
    """The owner lacks what the server needs: rwx on a directory, rw on a file."""
    need = 0o700 if is_dir else 0o600
    return mode_bits & need != need


def _chown(
    target: DirAccess, below: list[DirAccess], user: ServerUser, recursive: bool, why: str
) -> FixStep:
    # A shared group the user belongs to (ManagedRepository's "omero" for in-place import)
    # is deliberate: keep every entry's group then, rather than flatten it.
    shared = {r.gid for r in [target, *below] if r.gid in user.groups and r.gid != user.gid}
    flag = "-R " if recursive else ""
    if shared:
        command = f"chown {flag}{user.name} {shlex.quote(target.path)}"
        return FixStep(command, "chown", target.path, recursive, why, uid=user.uid)
    command = f"chown {flag}{user.name}:{user.primary_group} {shlex.quote(target.path)}"
    return FixStep(command, "chown", target.path, recursive, why, uid=user.uid, gid=user.gid)


def _hygiene_steps(report: PermsReport) -> list[FixStep]:
    steps = []
    deep_world = bool(report.deep and report.deep.world_writable_total)
    roots = {os.path.realpath(r) for r in report.deep.roots} if report.deep else set()
    # The applied step, like chmod on a recursive walk, does not follow a symlink, so
    # it is given the real directory (a symlinked subdirectory, a symlinked managed dir).
    for row in report.rows:
        row = replace(row, path=os.path.realpath(row.path))
        # A walked root's recursive o-w below covers the row; a row outside it (after a
        # deep check of one subdirectory) needs its own.
        covered = deep_world and any(_under(row.path, root) for root in roots)
        if "perms.world_writable" in row.problems and not covered:
            steps.append(_chmod(row.path, "o", 0o2, False, "anyone can write there", remove=True))
        if "perms.ancestor_world_writable" in row.problems:
            steps.append(
                _chmod(row.path, "o", 0o2, False, "anyone can replace the repository", remove=True)
            )
        if "perms.managed_no_setgid" in row.problems:
            command = f"chmod g+s {shlex.quote(row.path)}"
            why = "in-place imports need new directories to keep the managed repository's group"
            steps.append(FixStep(command, "chmod", row.path, False, why, add=0o2000, who="g"))
    for root in sorted(roots) if deep_world else ():
        steps.append(_chmod(root, "o", 0o2, True, "anyone can write there", remove=True))
    # The same directory may be reached twice (a symlinked data dir and its target).
    return list({step.command: step for step in steps}.values())


def _manual(rows: tuple[DirAccess, ...]) -> tuple[str, ...]:
    table = None
    notes: dict[str, None] = {}
    for row in rows:
        if "perms.read_only_filesystem" in row.problems:
            table = table or MountTable.read()
            mount = table.mount_of(row.path)
            where = mount.mount_point if mount else row.path
            notes[
                f"mount -o remount,rw {shlex.quote(where)}  # read-only filesystem;"
                " also fix /etc/fstab if it says ro"
            ] = None
    return tuple(notes)


def _link_notes(report: PermsReport, user: ServerUser) -> tuple[str, ...]:
    """Symlink targets outside the repository: the admin decides how to open them."""
    deep = report.deep
    if deep is None or not deep.link_unreadable_total:
        return ()
    targets = sorted({p.link_target for p in deep.problems if p.link_target})
    shown = " ".join(shlex.quote(t) for t in targets[:3])
    more = " …" if deep.link_unreadable_total > len(targets[:3]) else ""
    return (
        f"give {user.name} read access to the {deep.link_unreadable_total} symlink targets"
        f" outside the repository, e.g. setfacl -m u:{user.name}:rX {shown}{more}"
        " (and search on the directories above them)",
    )


def _windows_steps(report: PermsReport) -> list[FixStep]:
    steps: list[FixStep] = []
    for row in report.rows:
        if row.kind != "repository" or row.usable or not row.present:
            continue
        if any(_under_windows(row.path, s.path) for s in steps):
            continue
        command = grant_command(row.path, report.user.name)
        steps.append(FixStep(command, "icacls", row.path, True, "no modify right"))
    return steps


def _chmod(
    path: str,
    who: str,
    bits: int,
    recursive: bool,
    why: str,
    *,
    capital: bool = False,
    remove: bool = False,
) -> FixStep:
    letters = perm_text(bits).replace("-", "")
    if capital and who == "u":
        letters = letters + "X"
    shift = {"u": 6, "g": 3, "o": 0}[who]
    flag = "-R " if recursive else ""
    command = f"chmod {flag}{who}{'-' if remove else '+'}{letters} {shlex.quote(path)}"
    mode = bits << shift
    return FixStep(
        command,
        "chmod",
        path,
        recursive,
        why,
        add=0 if remove else mode,
        remove=mode if remove else 0,
        who=who,
        capital_x=capital,
    )


def _setfacl(
    path: str,
    user: ServerUser,
    perms: int,
    recursive: bool,
    why: str,
    *,
    text: str,
    capital: bool = False,
    dflt: bool = False,
    mask: int | None = None,
) -> FixStep:
    flags = ("-R " if recursive else "") + ("-d " if dflt else "")
    entries = f"u:{user.name}:{text}" + (f",m::{perm_text(mask)}" if mask is not None else "")
    command = f"setfacl {flags}-m {entries} {shlex.quote(path)}"
    return FixStep(
        command,
        "setfacl",
        path,
        recursive,
        why,
        acl_uid=user.uid,
        acl_perms=perms,
        capital_x=capital,
        acl_default=dflt,
        acl_mask=mask,
    )


def _acl_mask(entries: tuple[str, ...]) -> int:
    """The mask of a row's getfacl-style ACL text (0 when it has none)."""
    return next((_bits(e.rsplit(":", 1)[1]) for e in entries if e.startswith("mask:")), 0)


def _bits(text: str) -> int:
    return sum(bit for char, bit in (("r", 4), ("w", 2), ("x", 1)) if char in text)


def _under(path: str, top: str) -> bool:
    path, top = os.path.normpath(path), os.path.normpath(top)
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _under_windows(path: str, top: str) -> bool:
    path, top = ntpath.normcase(ntpath.normpath(path)), ntpath.normcase(ntpath.normpath(top))
    return path == top or path.startswith(top.rstrip("\\") + "\\")
