"""``--remove-source``: delete the old copy, only after proving nothing is lost with it.

Refused unless the relocation is complete, config.xml still points at the new location
and the server runs on it (its repository lock held there, nothing open in the old
place). Then every file of the source is compared byte for byte with the target once
more; only what the running server legitimately rewrites is exempt (the Lucene index,
lock files, the Bio-Formats cache). One difference and nothing is deleted. Before all
that, and again before each directory goes, ``removal_guard`` proves the old copy is
not the new one under another path (a bind mount) and that nothing names it any more.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from omero_tui.core.config.sources import sources_of
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.discovery import discover
from omero_tui.core.findings import Severity, counted
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import frozen
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
from omero_tui.core.relocation.removal_guard import (
    DeletionGuard,
    Roots,
    check_apart,
    check_mounts,
    check_nothing_names,
    config_xml_pairs,
    other_source_pairs,
)
from omero_tui.core.relocation.server_steps import is_running
from omero_tui.core.relocation.source_checks import scan_for
from omero_tui.core.relocation.status import RelocationStatus, latest_relocation
from omero_tui.core.relocation.tree_scan import Entry, scan_tree
from omero_tui.core.server.control import ServerController
from omero_tui.core.server.state import running_on
from omero_tui.core.settings import Settings

# Rewritten by a running server, so they may differ from the old copy without loss.
VOLATILE_PREFIXES = ("FullText/", "BioFormatsCache/")
VOLATILE_NAMES = (".lock", "write.lock")


@frozen
class Reverification:
    compared: int
    problems: tuple[str, ...]  # at most 20, one line each
    total_problems: int
    no_copy: tuple[str, ...] = ()  # source entries the target lacks (volatile ones only)
    skipped: int = 0  # volatile entries (FullText, BioFormatsCache, lock files) not compared


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
    no_copy: list[str] = []
    total = compared = done_bytes = skipped = 0
    # What the scan could not look into is not compared, so it would go unseen.
    for rel in (*scan.unreadable, *scan.foreign_mounts):
        total += 1
        if len(problems) < 20:
            problems.append(f"{rel}: could not be compared (unreadable, or another filesystem)")
    for entry in scan.entries[1:]:
        check_cancel(cancel)
        dst = os.path.join(target, entry.rel)
        if _volatile(entry.rel):
            skipped += 1
            if not os.path.lexists(dst):
                no_copy.append(entry.rel)
            continue
        problem = _problem(entry, os.path.join(source, entry.rel), dst)
        compared += 1
        done_bytes += entry.data_bytes
        report(f"re-verified {compared} entries", done_bytes, compared)
        if problem:
            total += 1
            if len(problems) < 20:
                problems.append(f"{entry.rel}: {problem}")
    report(f"re-verified {compared} entries", done_bytes, compared, final=True)
    return Reverification(compared, tuple(problems), total, tuple(no_copy), skipped)


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
        if kind == "special":
            want, got = os.lstat(src), os.lstat(dst)
            same = (stat.S_IFMT(want.st_mode), want.st_rdev) == (
                stat.S_IFMT(got.st_mode),
                got.st_rdev,
            )
            return None if same else "special file differs"
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
        source = plan.source_real
        if not os.path.isdir(source):
            raise RelocationRefused("relocation.remove_gone", f"{source} no longer exists")
        guard = _guard(ctx)  # before anything else looks at the old path's content
        _check_server(ctx)
        check = reverify(source, plan.target, progress, ctx.cancel)
        if check.total_problems:
            raise RelocationRefused(
                "relocation.remove_mismatch",
                f"{check.total_problems} source entries are not the same at {plan.target} "
                f"(e.g. {check.problems[0]}); nothing was deleted",
            )
        guard.roots.still_apart()
        for rel in check.no_copy:
            path = os.path.join(source, rel)
            ctx.note(
                Severity.INFO,
                "relocation.remove_no_copy",
                f"{path} has no copy at the new location (the server rebuilds it); "
                + ("it would be deleted" if dry_run else "deleted"),
                path,
            )
        no_copy = f", {len(check.no_copy)} of them without a copy (listed)" if check.no_copy else ""
        if dry_run:
            return RunResult(
                status.id,
                "dry run",
                f"would delete {source}: all {check.compared} entries re-verified at "
                f"{plan.target}{no_copy}; nothing was changed",
                tuple(ctx.notes),
                journal_path=status.journal_path,
            )
        ctx.journal.append({"type": "reopen", "why": "remove source"})
        try:
            with ctx.step("remove-source", f"deleting {source}"):
                keep_root = MountTable.read().is_mount_point(source)
                removed = delete_tree(source, keep_root=keep_root, guard=guard.check)
        except DeletionStopped as err:
            raise RelocationRefused("relocation.remove_failed", str(err)) from None
        ctx.end("source removed")
        words = deleted_words(removed, check, top_dir=not keep_root) + no_copy
        ctx.note(Severity.INFO, "relocation.source_removed", f"{words} from {source}")
        return ctx.result("source removed", f"deleted {source}: {words}")


def deleted_words(removed: int, check: Reverification, *, top_dir: bool) -> str:
    """Why more entries are deleted than were re-verified, in the same sentence."""
    words = f"{counted(removed, 'entry')} deleted after re-verifying {check.compared:,}"
    extra = removed - check.compared
    if extra <= 0:
        return words
    parts = ["the top directory"] if top_dir else []
    if check.skipped:
        volatile = counted(
            check.skipped, "cache, index or lock entry", "cache, index and lock entries"
        )
        parts.append(f"{volatile} a running server rewrites (not compared)")
    rest = extra - (1 if top_dir else 0) - check.skipped
    if rest > 0:
        parts.append(f"{counted(rest, 'entry')} that appeared after the check")
    return f"{words} (the other {extra:,}: {' and '.join(parts)})"


def _guard(ctx: Context) -> DeletionGuard:
    """The old copy is a different directory from the new one, on its own filesystem, and
    nothing names it any more; refused otherwise (the dry run too)."""
    plan = ctx.plan
    env = dict(os.environ if ctx.options.env is None else ctx.options.env)
    source, target = plan.source_real, plan.target
    source_id, target_id = check_apart(source, target)
    before = ctx.facts().get("source_device")
    check_mounts(source, target, MountTable.read(), source_device_before=before)
    pairs: list[tuple[str, str]] = []
    if plan.config_path:
        try:
            pairs = config_xml_pairs(read_config(Path(plan.config_path)))
        except (ConfigError, OSError) as err:
            raise RelocationRefused(
                "relocation.remove_config",
                f"config.xml cannot be read ({err}), so it cannot be shown to have stopped "
                "naming the old copy; nothing was deleted",
            ) from None
    try:  # the sources that rebuild config.xml at the next start (Ansible, Docker, unit)
        found = sources_of(scan_for(plan.server_dir, env))
    except OSError:
        found = []
    pairs += [(f"{s.describe()} ({s.key})", s.value) for s in found if s.value]
    pairs += other_source_pairs(plan.server_dir, env)  # and any word of a .omero file
    check_nothing_names(pairs, {plan.source, source})
    return DeletionGuard(Roots(source, target, source_id, target_id), before)


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


class DeletionStopped(Exception):
    """The deletion failed half way; ``str(err)`` is one line that says how far it got."""

    def __init__(self, err: OSError, removed: int) -> None:
        where = f" ({err.filename})" if isinstance(err.filename, str) else ""
        super().__init__(f"{err.strerror or err}{where}; stopped after deleting {removed} entries")
        self.removed = removed


def delete_tree(
    root: str,
    *,
    keep_root: bool,
    guard: Callable[[str, os.stat_result, int], None] | None = None,
) -> int:
    """Delete everything below ``root`` (and ``root`` unless it is a mount point).

    Never follows a symlink and never crosses into another filesystem. ``guard`` is asked
    (path, its lstat, entries deleted so far) before anything in a directory is deleted
    and again before the directory itself is; it raises to stop the deletion. An OSError
    on the way becomes :class:`DeletionStopped`.
    """
    removed = 0
    stack: list[tuple[str, bool]] = [(root, False)]
    try:
        root_dev = os.lstat(root).st_dev
        while stack:
            path, emptied = stack.pop()
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_dev != root_dev:
                raise OSError(errno.EXDEV, "not a directory of the tree being deleted", path)
            if guard is not None:
                guard(path, st, removed)
            if emptied:
                if path != root or not keep_root:
                    os.rmdir(path)
                    removed += 1
                continue
            stack.append((path, True))
            with os.scandir(path) as listing:
                children = list(listing)
            for child in children:
                if child.is_dir(follow_symlinks=False):
                    stack.append((child.path, False))
                else:
                    os.unlink(child.path)
                    removed += 1
    except OSError as err:
        raise DeletionStopped(err, removed) from None
    return removed


def clear_bioformats_cache(cache_dir: str) -> int:
    """Delete the Bio-Formats memo files (a cache OMERO rebuilds); keeps the directory."""
    if os.path.basename(os.path.normpath(cache_dir)) != "BioFormatsCache":
        raise ValueError(f"{cache_dir} is not a BioFormatsCache directory")
    return delete_tree(cache_dir, keep_root=True)
