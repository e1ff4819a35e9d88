"""Checks the engine repeats before acting, because time passes between them: the
preflight may be minutes old when the run starts, and a resume may come after a reboot."""

from __future__ import annotations

from omero_tui.core.layout.identity import read_identity
from omero_tui.core.mounts import MountTable
from omero_tui.core.relocation.engine_context import Context, StepFailed
from omero_tui.core.relocation.plan import nearest_existing
from omero_tui.core.relocation.preflight_target import target_checks
from omero_tui.core.relocation.tree_scan import same_tree, scan_tree


def still_usable(ctx: Context) -> None:
    """The target must still be what the preflight saw: absent or empty. Anything that
    appeared there since would be overwritten by the copy, then deleted by a rollback."""
    failed = [c for c in target_checks(ctx.plan) if c.status == "fail"]
    if failed:
        raise StepFailed(f"{failed[0].reason}; nothing was moved")


def target_mount(target: str) -> dict[str, str] | None:
    """The filesystem the target is (or will be) on: mount point, device and type."""
    info = MountTable.read().mount_of(nearest_existing(target))
    if info is None:
        return None
    return {"mount_point": info.mount_point, "source": info.source, "fstype": info.fstype}


def same_target_mount(ctx: Context) -> None:
    """A resume must find the target on the filesystem the relocation began with: after a
    reboot with the disk not mounted, the bare mount point would be filled (or, past the
    copy, configured) instead."""
    recorded = ctx.facts().get("target_mount")
    if not recorded:
        return
    now = target_mount(ctx.plan.target)
    if now != recorded:
        where = f"{now['source']} on {now['mount_point']}" if now else "no known filesystem"
        raise StepFailed(
            f"{ctx.plan.target} is now on {where}, not on {recorded['source']} on "
            f"{recorded['mount_point']} as when the relocation began: mount it again, "
            "then resume"
        )


def target_identity_ok(ctx: Context) -> None:
    """Before config.xml is pointed at the target, and before a start: it still holds the
    repository's identity (a missing one makes OMERO register a new, empty repository)."""
    identity = ctx.facts().get("identity") or []
    found = [[e.db_uuid, e.repo_uuid] for e in read_identity(ctx.plan.target, "target").entries]
    if found != identity:
        raise StepFailed(
            f"the repository identity in {ctx.plan.target} ({found}) is not the source's "
            f"({identity}); config.xml was not pointed at it"
        )


def source_unchanged(ctx: Context) -> None:
    """A resume past the copy: the source must still be the tree that was copied. A
    server started on the old location in between (by hand, by a reboot) may have
    written there, and switching to the copy would leave that behind."""
    recorded = ctx.facts().get("scan") or {}
    if not recorded.get("fingerprint"):
        return
    scan = scan_tree(ctx.plan.source_real, ctx.progress, ctx.cancel)
    if not same_tree(recorded, scan):
        raise StepFailed(
            f"{ctx.plan.source} changed after it was copied (did the server run there "
            "meanwhile?), so the copy is not the repository any more; run `omero-tui "
            "relocate --rollback` and start again"
        )
