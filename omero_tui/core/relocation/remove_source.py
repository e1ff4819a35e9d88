"""``--remove-source``: delete the old copy, only after proving nothing is lost with it.

Refused unless the relocation is complete, config.xml still points at the new location
and the server runs on it (its repository lock held there, nothing open in the old
place). Then every file of the source is compared byte for byte with the target once
more; only what the running server legitimately rewrites is exempt (the Lucene index,
lock files, the Bio-Formats cache). One difference and nothing is deleted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from omero_tui.core.discovery import discover
from omero_tui.core.findings import Severity
from omero_tui.core.mounts import MountTable
from omero_tui.core.relocation.engine import exclusive_relocation, reopen
from omero_tui.core.relocation.engine_context import (
    Ask,
    Context,
    EngineOptions,
    RunResult,
    StepEvent,
)
from omero_tui.core.relocation.file_copy import ContentMismatch, compare_files
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.progress import Progress, Reporter, check_cancel
from omero_tui.core.relocation.server_steps import is_running
from omero_tui.core.relocation.status import RelocationStatus, latest_relocation
from omero_tui.core.relocation.tree_scan import Entry, scan_tree
from omero_tui.core.server.control import ServerController
from omero_tui.core.server.state import running_on
from omero_tui.core.settings import Settings

# Rewritten by a running server, so they may differ from the old copy without loss.
VOLATILE_PREFIXES = ("FullText/", "BioFormatsCache/")
VOLATILE_NAMES = (".lock", "write.lock")


@dataclass(frozen=True)
class Reverification:
    compared: int
    problems: tuple[str, ...]  # at most 20, one line each
    total_problems: int


def reverify(
    source: str,
    target: str,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Reverification:
    """Every non-volatile source entry exists in the target with the same content."""
    scan = scan_tree(source, progress, cancel)
    report = Reporter(progress, "reverify", bytes_total=scan.data_bytes, files_total=scan.files)
    problems: list[str] = []
    total = compared = done_bytes = 0
    for entry in scan.entries[1:]:
        check_cancel(cancel)
        if _volatile(entry.rel):
            continue
        dst = os.path.join(target, entry.rel)
        problem = _problem(entry, os.path.join(source, entry.rel), dst)
        compared += 1
        done_bytes += entry.data_bytes
        report(f"re-verified {compared} entries", done_bytes, compared)
        if problem:
            total += 1
            if len(problems) < 20:
                problems.append(f"{entry.rel}: {problem}")
    report(f"re-verified {compared} entries", done_bytes, compared, final=True)
    return Reverification(compared, tuple(problems), total)


def _volatile(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    top = rel + "/"
    return rel.startswith(VOLATILE_PREFIXES) or top in VOLATILE_PREFIXES or name in VOLATILE_NAMES


def _problem(entry: Entry, src: str, dst: str) -> str | None:
    kind = entry.kind
    try:
        if kind == "dir":
            return None if os.path.isdir(dst) and not os.path.islink(dst) else "missing directory"
        if kind == "symlink":
            same = os.readlink(dst) == entry.link
            return None if same else "symlink differs"
        if kind in ("file", "hardlink"):
            st = os.stat(src)
            compare_files(src, dst, st.st_size, st.st_blocks * 512 < st.st_size)
    except FileNotFoundError:
        return "missing from the new location"
    except ContentMismatch as err:
        return str(err)
    except OSError as err:
        return err.strerror or str(err)
    return None


def remove_source(
    status: RelocationStatus | None = None,
    *,
    settings: Settings | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
    controller: ServerController | None = None,
    progress: Callable[[Progress], None] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    cancel: threading.Event | None = None,
    ask: Ask | None = None,
    dry_run: bool = False,
) -> RunResult:
    """Re-verify and delete the old copy; with ``dry_run`` only check and count."""
    with exclusive_relocation(options.state_dir):
        status = status or latest_relocation(options.state_dir)
        if status is None or status.state != "complete":
            what = f"relocation {status.id} is {status.state}" if status else "no relocation"
            raise RelocationRefused(
                "relocation.remove_not_complete",
                f"{what}; only the source of a complete relocation can be removed",
            )
        ctx = reopen(status, settings, options, controller, progress, on_step, cancel, ask)
        plan = ctx.plan
        if plan.method == "rename":
            raise RelocationRefused(
                "relocation.remove_nothing",
                f"{plan.source} was renamed, not copied: there is no old copy to remove",
            )
        _check_server(ctx)
        source = plan.source_real
        if not os.path.isdir(source):
            raise RelocationRefused("relocation.remove_gone", f"{source} no longer exists")
        check = reverify(source, plan.target, progress, ctx.cancel)
        if check.total_problems:
            raise RelocationRefused(
                "relocation.remove_mismatch",
                f"{check.total_problems} source entries are not the same at {plan.target} "
                f"(e.g. {check.problems[0]}); nothing was deleted",
            )
        if dry_run:
            return RunResult(
                status.id,
                "dry run",
                f"would delete {source}: all {check.compared} entries re-verified at "
                f"{plan.target}; nothing was changed",
                journal_path=status.journal_path,
            )
        ctx.journal.append({"type": "reopen", "why": "remove source"})
        with ctx.step("remove-source", f"deleting {source}"):
            removed = delete_tree(source, keep_root=MountTable.read().is_mount_point(source))
        ctx.end("source removed")
        ctx.note(
            Severity.INFO,
            "relocation.source_removed",
            f"{removed} entries deleted from {source} after re-verifying {check.compared}",
        )
        return ctx.result("source removed", f"deleted {source} ({removed} entries)")


def _check_server(ctx: Context) -> None:
    plan = ctx.plan
    env = os.environ if ctx.options.env is None else ctx.options.env
    location = discover(server_dir_arg=plan.server_dir, env=env, candidates=[])
    now = location.data_dir.value if plan.what == "data" else location.managed_dir.value
    if os.path.realpath(now or "") != os.path.realpath(plan.target):
        raise RelocationRefused(
            "relocation.remove_config",
            f"config.xml points at {now}, not {plan.target}; nothing was deleted",
        )
    managed = os.path.realpath(location.managed_dir.value or "")
    source = plan.source_real.rstrip("/") + "/"
    if plan.what == "data" and (managed + "/").startswith(source):
        raise RelocationRefused(
            "relocation.remove_config",
            f"omero.managed.dir ({managed}) points into {plan.source} again; nothing was deleted",
        )
    if not is_running(ctx):
        raise RelocationRefused(
            "relocation.remove_not_running",
            f"the server is not running on {plan.target}; start it first, so the removal "
            "is made only once the new location is in use",
        )
    on_new = running_on(
        plan.target,
        location.data_dir.value or "",
        location.managed_dir.value or "",
        [plan.source_real],
    )
    if not on_new.ok:
        raise RelocationRefused(
            "relocation.remove_not_running", f"{on_new.reason}; nothing was deleted"
        )


def delete_tree(root: str, *, keep_root: bool) -> int:
    """Delete everything below ``root`` (and ``root`` unless it is a mount point)."""
    removed = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
            removed += 1
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                os.rmdir(path)
            removed += 1
    if not keep_root:
        os.rmdir(root)
        removed += 1
    return removed


def clear_bioformats_cache(cache_dir: str) -> int:
    """Delete the Bio-Formats memo files (a cache OMERO rebuilds); keeps the directory."""
    if os.path.basename(os.path.normpath(cache_dir)) != "BioFormatsCache":
        raise ValueError(f"{cache_dir} is not a BioFormatsCache directory")
    return delete_tree(cache_dir, keep_root=True)
