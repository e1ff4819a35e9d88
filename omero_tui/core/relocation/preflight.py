"""Preflight: every reason to refuse or to warn, checked before the server is touched.

Each check answers pass, warn or fail with one line saying why; any fail refuses the
relocation. The filesystem questions are asked of the target itself (free space and
inodes from statvfs, case sensitivity and locking by trying them there), because a
table of filesystem types only guesses.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.mounts import MountTable
from omero_tui.core.perms.check import ancestors_of, path_access
from omero_tui.core.perms.server_user import ServerUser
from omero_tui.core.relocation.checks import Check, PreflightReport, fail, passed, warn
from omero_tui.core.relocation.plan import RelocationPlan, nearest_existing
from omero_tui.core.relocation.preflight_config import config_checks
from omero_tui.core.relocation.preflight_fit import fit_checks
from omero_tui.core.relocation.preflight_profile import profile_checks
from omero_tui.core.relocation.preflight_target import (
    capacity_checks,
    filesystem_checks,
    name_checks,
    target_checks,
)
from omero_tui.core.relocation.target_trust import trust_checks
from omero_tui.core.relocation.tree_scan import TreeScan


def run_preflight(
    plan: RelocationPlan,
    scan: TreeScan,
    location: ServerLocation,
    *,
    server_user: ServerUser | None,
    env: Mapping[str, str] | None = None,
    unfinished: str | None = None,
    probe_locks: bool = True,
    table: MountTable | None = None,
    lock_probe: Callable[[str], str | None] | None = None,
    source_checks: Sequence[Check] = (),
) -> PreflightReport:
    """All checks; ``unfinished`` describes a relocation still to resume or roll back."""
    table = table or MountTable.read()
    env = os.environ if env is None else env
    where = _probe_dir(plan.target)
    checks: list[Check] = [passed("relocation.method", plan.method_why)]
    if unfinished:
        checks.append(fail("relocation.unfinished", unfinished))
    checks += _source_checks(plan, scan)
    checks += _nesting_checks(plan, location)
    checks += target_checks(plan)
    checks += trust_checks(plan.target, table)
    if plan.method == "copy" and scan.specials:
        checks.append(special_files_check(scan, where))
    if plan.method == "copy":
        checks += capacity_checks(plan, scan, where)
        checks += filesystem_checks(plan, table, where, probe_locks, lock_probe)
        checks += name_checks(plan, scan, where)
        checks += fit_checks(plan, scan, where)
    checks += _access_checks(plan, server_user)
    checks += config_checks(plan, location, env)
    checks += profile_checks(plan)
    checks += source_checks  # what will rewrite config.xml at the next start
    return PreflightReport(tuple(checks))


def _probe_dir(target: str) -> str:
    """Where the target's filesystem can be tried: the target, or its nearest ancestor."""
    return target if os.path.isdir(target) else nearest_existing(target)


def _source_checks(plan: RelocationPlan, scan: TreeScan) -> list[Check]:
    checks = []
    identity = read_identity(
        plan.source_real, "managed dir" if plan.what == "managed" else "data dir"
    )
    readable = [e for e in identity.entries if e.repo_uuid]
    if identity.error or not readable:
        why = identity.error or "it has no .omero/repository/<uuid>/repo_uuid"
        checks.append(
            fail(
                "relocation.source_not_repository",
                f"{plan.source} is not an OMERO repository ({why}), so there is "
                "nothing the server would recognise after the move",
                plan.source,
            )
        )
    else:
        uuids = ", ".join(e.repo_uuid or "" for e in readable)
        checks.append(
            passed(
                "relocation.source_identity", f"repository identity {uuids} will move with the data"
            )
        )
    if scan.unreadable:
        checks.append(
            fail(
                "relocation.source_unreadable",
                f"{len(scan.unreadable)} directories could not be listed (e.g. "
                f"{scan.unreadable[0]}), so they could not be copied",
                plan.source,
            )
        )
    if scan.foreign_mounts:
        checks.append(
            fail(
                "relocation.nested_mount",
                f"{scan.foreign_mounts[0]} is another filesystem mounted inside the "
                "source; move it on its own (or unmount it) so two disks are not "
                "merged into one",
                plan.source,
            )
        )
    if scan.links_outside:
        shown = ", ".join(scan.links_outside[:10])
        more = f" and {len(scan.links_outside) - 10} more" if len(scan.links_outside) > 10 else ""
        checks.append(
            warn(
                "relocation.links_outside",
                f"{len(scan.links_outside)} files also have hard links outside the "
                f"repository: {shown}{more}; each is copied as a separate file (its names "
                "outside keep the old one): decide for each whether that is right",
            )
        )
    return checks


def special_files_check(scan: TreeScan, where: str) -> Check:
    """Fifos, sockets and device nodes are made again by the copy; device nodes need
    root (CAP_MKNOD), so the target is tried with one before anything is stopped."""
    specials = [e for e in scan.entries if e.kind == "special"]
    devices = [e for e in specials if stat.S_ISCHR(e.mode) or stat.S_ISBLK(e.mode)]
    what = f"{len(specials)} fifo/socket/device entries (e.g. {specials[0].rel})"
    if devices:
        problem = _device_node_problem(where)
        if problem:
            return fail(
                "relocation.special_files",
                f"{what}: device nodes such as {devices[0].rel} cannot be made again in "
                f"{where} ({problem}); remove them from the repository or run as root",
            )
    return passed("relocation.special_files", f"{what} will be made again in the copy")


def _device_node_problem(where: str) -> str | None:
    probe = os.path.join(where, f".omero-tui-probe-node-{os.getpid()}")
    try:
        os.mknod(probe, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except OSError as err:
        return err.strerror or str(err)
    os.unlink(probe)
    return None


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _nesting_checks(plan: RelocationPlan, location: ServerLocation) -> list[Check]:
    target = os.path.realpath(plan.target)
    source = plan.source_real
    if target == source:
        through = "" if plan.target == target else " (through a symbolic link)"
        return [
            fail(
                "relocation.target_is_source",
                f"{plan.target} is the repository itself{through}; choose a directory outside it",
                plan.target,
            )
        ]
    if _inside(target, source):
        return [
            fail(
                "relocation.target_inside_source",
                f"{plan.target} is inside the repository being moved ({plan.source}), so "
                "the copy would copy itself; choose a directory outside it",
                plan.target,
            )
        ]
    if _inside(source, target):
        return [
            fail(
                "relocation.source_inside_target",
                f"{plan.source} is inside {plan.target}, so the target is not empty "
                "and the two would overlap",
                plan.target,
            )
        ]
    checks = []
    server = location.server_dir.value
    if server and (
        _inside(target, os.path.realpath(server)) or _inside(os.path.realpath(server), target)
    ):
        checks.append(
            fail(
                "relocation.target_server_dir",
                f"{plan.target} and the server install {server} would contain one "
                "another; an upgrade of the server would then touch the repository",
            )
        )
    managed = os.path.realpath(location.managed_dir.value or "")
    if (
        plan.what == "data"
        and managed
        and not _inside(managed, source)
        and _inside(target, managed)
    ):
        checks.append(
            fail(
                "relocation.target_inside_managed",
                f"{plan.target} is inside the managed repository {managed}",
            )
        )
    if plan.what == "managed" and _inside(target, os.path.realpath(plan.data_dir)):
        checks.append(
            warn(
                "relocation.target_inside_data",
                f"{plan.target} is inside the data dir {plan.data_dir}: fine for OMERO, "
                "but it gains nothing over the default location",
            )
        )
    return checks


def _access_checks(plan: RelocationPlan, user: ServerUser | None) -> list[Check]:
    if user is None:
        return [
            warn(
                "relocation.server_user",
                "the server's user is unknown, so its access to the target is unchecked",
            )
        ]
    blocked = _first_blocked(plan.target, user)
    if blocked:
        return [
            fail(
                "relocation.server_user_access",
                f"the server user {user.name} cannot enter {blocked}, so it could not "
                f"reach {plan.target}",
                blocked,
            )
        ]
    if not path_access(plan.source_real, user).write:
        return [
            warn(
                "relocation.server_user_access",
                f"the server user {user.name} cannot write {plan.source} now; the copy "
                "keeps the same owners and modes, so it will not write the target either",
            )
        ]
    return [
        passed(
            "relocation.server_user_access",
            f"{user.name} can reach {plan.target}; owners and modes are kept",
        )
    ]


def _first_blocked(target: str, user: ServerUser) -> str | None:
    existing = [a for a in ancestors_of(target) if os.path.isdir(a)]
    if os.path.isdir(target):
        existing.append(target)
    for directory in existing:
        if not path_access(directory, user).traverse:
            return directory
    return None
