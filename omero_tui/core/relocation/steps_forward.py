"""The forward steps, each skipped when the journal says it is done (that is the resume).

stop -> prepare -> copy | rename -> verify -> config -> start -> finish
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from omero_tui.core.config.xml_file import ConfigError, parse_config
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.findings import Severity, counted
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.relocation.config_rewrite import (
    apply_changes,
    config_dir_names,
    remove_stale_lock,
    writer_leftovers,
)
from omero_tui.core.relocation.copy_tree import copy_entries, finish_directories, make_directories
from omero_tui.core.relocation.engine_context import (
    Context,
    RunResult,
    StartRefused,
    StepFailed,
)
from omero_tui.core.relocation.guards import (
    same_target_mount,
    source_unchanged,
    still_usable,
    target_identity_ok,
)
from omero_tui.core.relocation.journal import TARGET_JOURNAL_NAME, decode_bytes
from omero_tui.core.relocation.metadata import MetadataCopier
from omero_tui.core.relocation.move import RenameRefused, rename_into_place
from omero_tui.core.relocation.progress import check_cancel
from omero_tui.core.relocation.server_steps import ensure_stopped, is_running, start_and_check
from omero_tui.core.relocation.source_checks import start_guard
from omero_tui.core.relocation.source_rewrite import (
    SourceRewriteError,
    paths_of,
    write_changes,
)
from omero_tui.core.relocation.source_stamps import (
    first_change,
    remove_stamps,
    stamps_path,
    write_stamps,
)
from omero_tui.core.relocation.source_stamps import usable as stamps_usable
from omero_tui.core.relocation.sync import syncfs
from omero_tui.core.relocation.target_state import (
    describe_parent,
    describe_target,
    directories_to_create,
)
from omero_tui.core.relocation.tree_scan import fingerprint_fact, same_tree, scan_tree
from omero_tui.core.relocation.verify_tree import compare_trees
from omero_tui.core.server.state import running_on
from omero_tui.core.usage.format import human_bytes

CHANGING_STEPS = ("prepare", "copy", "rename", "verify", "config", "start")


def nothing_changed(ctx: Context) -> bool:
    """True while no step that changes anything has started (a failed stop aborts)."""
    return not any(ctx.status().started(step) for step in CHANGING_STEPS)


def restart_if_needed(ctx: Context) -> None:
    """After an aborted stop: a server that was running and is now down is started again."""
    if ctx.facts().get("server_was_running") and not is_running(ctx):
        ctx.controller.start()


def run_steps(ctx: Context) -> RunResult:
    plan = ctx.plan
    status = ctx.status()
    if not status.started("prepare"):
        still_usable(ctx)  # before the server is stopped: the preflight may be minutes old
    same_target_mount(ctx)
    if not status.done("config"):
        # Also on every resume: someone may have started the server in between.
        with ctx.step("stop", f"stopping the server ({ctx.controller.describe()})"):
            proof = ensure_stopped(ctx, [plan.source_real])
            ctx.event("stop", "info", proof.reason)
        if plan.method == "copy" and status.done("copy"):
            source_unchanged(ctx)  # a resume: nothing may have been written there since
    # Cancel is honoured between steps up to the config rewrite; once config.xml names
    # the new location, starting the server there is the quickest way to a whole state.
    check_cancel(ctx.cancel)
    if not status.done("prepare"):
        if not status.started("prepare"):
            still_usable(ctx)  # again: the stop took a while, someone may have written there
        with ctx.step("prepare", f"preparing {plan.target}"):
            prepare(ctx)
    if plan.method == "copy" and os.path.isdir(plan.target) and not status.done("finish"):
        ctx.journal.attach_target(plan.target)
    check_cancel(ctx.cancel)
    if plan.method == "rename":
        if not status.done("rename"):
            with ctx.step("rename", f"renaming {plan.source_real} to {plan.target}"):
                rename(ctx)
    elif not status.done("copy"):
        with ctx.step("copy", f"copying {plan.source_real} to {plan.target}"):
            copy(ctx)
    check_cancel(ctx.cancel)
    if not ctx.status().done("verify"):
        with ctx.step("verify", f"comparing {plan.target} with the source"):
            verify(ctx)
    if not ctx.status().done("config"):
        check_cancel(ctx.cancel)
        also = "".join(f" and {path}" for path in paths_of(plan.source_changes))
        with ctx.step("config", f"updating {plan.config_path}{also}"):
            rewrite_config(ctx)
    if not ctx.status().done("start"):
        if ctx.facts().get("server_was_running"):
            with ctx.step("start", "starting the server on the new location"):
                summary = start(ctx)
                ctx.event("start", "info", summary)
        else:
            ctx.skip("start", "the server was not running before, so it is left stopped")
    with ctx.step("finish", "finishing"):
        finish(ctx)
    ctx.end("complete")
    _say_where_things_are(ctx)
    kept = f"; {plan.source} is kept until `omero-tui relocate --remove-source`"
    return ctx.result(
        "complete",
        f"moved {plan.source} to {plan.target}" + ("" if plan.method == "rename" else kept),
    )


def _say_where_things_are(ctx: Context) -> None:
    """The Done page and the CLI say where config.xml's backup is and where the server runs."""
    plan, facts = ctx.plan, ctx.facts()
    backup = (facts.get("config_after") or {}).get("backup")
    if backup:
        ctx.note(
            Severity.INFO,
            "relocation.config_backup",
            f"The previous config.xml is kept as {backup}.",
            backup,
        )
    for source in facts.get("sources_after") or []:  # the .omero lines rewritten with it
        if source.get("backup"):
            ctx.note(
                Severity.INFO,
                "relocation.source_backup",
                f"{source['path']} now names {plan.target} too; the previous one is kept "
                f"as {source['backup']}.",
                source["backup"],
            )
    if facts.get("server_was_running"):
        words = f"The server runs on {plan.target}: started and checked there."
    else:
        words = f"The server was not running and is left stopped; started, it uses {plan.target}."
    ctx.note(Severity.INFO, "relocation.server_location", words, plan.target)


def prepare(ctx: Context) -> None:
    plan = ctx.plan
    facts = ctx.facts()
    if "target_before" not in facts:
        ctx.fact("target_before", describe_target(plan.target))
    missing = directories_to_create(plan.target, include_target=plan.method == "copy")
    if "parents_before" not in facts:
        # The directories whose listing the move changes (the new name appears in one;
        # a rename also takes one away from the source's parent): a rollback gives them
        # their times back once their listing is again what it was.
        parents = {os.path.dirname(missing[0] if missing else plan.target)}
        if plan.method == "rename":
            parents.add(os.path.dirname(plan.source_real))
        ctx.fact("parents_before", [describe_parent(p) for p in sorted(parents)])
    if missing:
        # Recorded before they exist: a rollback removes exactly these, if still empty.
        ctx.fact("created_dirs", [*facts.get("created_dirs", []), *missing])
    for directory in missing:
        os.makedirs(directory, mode=0o755, exist_ok=True)


def rename(ctx: Context) -> None:
    plan = ctx.plan
    if not os.path.lexists(plan.source_real) and os.path.isdir(plan.target):
        return  # done before a crash that came before the journal record
    try:
        rename_into_place(plan.source_real, plan.target)
    except RenameRefused as err:
        raise StepFailed(str(err)) from None
    ctx.fact("renamed", True)


def copy(ctx: Context) -> None:
    plan = ctx.plan
    scan = scan_tree(plan.source_real, ctx.progress, ctx.cancel)
    recorded = ctx.facts().get("scan")
    if recorded is None:
        root = scan.entries[0]
        ctx.fact(
            "scan",
            {
                **fingerprint_fact(scan),
                "entries": len(scan.entries),
                "data_bytes": scan.data_bytes,
                "root_times_ns": [root.atime_ns, root.mtime_ns],
            },
        )
    elif not same_tree(recorded, scan):
        raise StepFailed(
            f"{plan.source} changed since the copy began, so the copy cannot be resumed; "
            "run `omero-tui relocate --rollback` and start again"
        )
    start = ctx.status().copied_upto
    make_directories(scan, plan.target)
    meta = MetadataCopier()

    def record(batch: object) -> None:
        ctx.journal.append(
            {
                "type": "batch",
                "upto": batch.upto,  # type: ignore[attr-defined]
                "last": batch.last,  # type: ignore[attr-defined]
                "entries": batch.entries,  # type: ignore[attr-defined]
                "bytes": batch.data_bytes,  # type: ignore[attr-defined]
            }
        )

    result = copy_entries(
        scan,
        plan.target,
        start=start,
        on_batch=record,
        progress=ctx.progress,
        cancel=ctx.cancel,
        metadata=meta,
    )
    finish_directories(scan, plan.target, metadata=meta, cancel=ctx.cancel)
    ctx.event(
        "copy",
        "info",
        f"{counted(result.entries_copied, 'file or symlink', 'files and symlinks')}, "
        f"{human_bytes(result.data_bytes)} of data copied with {result.method}",
    )
    for line in result.metadata_dropped:
        ctx.note(
            Severity.WARNING,
            "relocation.metadata_dropped",
            f"the target filesystem did not keep {line}; check the server user's access there",
            plan.target,
        )
    if result.specials_made:
        ctx.event("copy", "info", f"{result.specials_made} fifo/socket/device entries made again")
    for rel in scan.links_outside:
        ctx.note(
            Severity.WARNING,
            "relocation.links_outside",
            f"{os.path.join(plan.source, rel)} also has hard links outside the repository: "
            "the copy is a separate file, the names outside keep the old one",
            os.path.join(plan.source, rel),
        )


def verify(ctx: Context) -> None:
    plan = ctx.plan
    target_identity_ok(ctx)
    if plan.method == "rename":
        if os.path.lexists(plan.source_real):
            raise StepFailed(f"{plan.source_real} still exists after the rename")
        verify_against_database(ctx)
        return
    stamp_source(ctx)  # before the comparison: whatever changes after it is seen
    compare_copy(ctx)


def stamp_source(ctx: Context) -> None:
    path = stamps_path(ctx.journal.state_path)
    ctx.fact("source_stamps", write_stamps(ctx.plan.source_real, path, ctx.cancel).to_json())


def compare_copy(ctx: Context) -> None:
    plan = ctx.plan
    scan = scan_tree(plan.source_real, None, ctx.cancel)
    before = ctx.facts().get("target_before") or {}
    ignore = [TARGET_JOURNAL_NAME, *before.get("names", [])]
    comparison = compare_trees(
        scan, plan.target, ignore=ignore, progress=ctx.progress, cancel=ctx.cancel
    )
    if not comparison.identical:
        raise StepFailed(f"the copy does not match the source: {comparison.summary()}")
    ctx.event("verify", "info", comparison.summary())
    verify_against_database(ctx)


def _location_at_target(ctx: Context) -> ServerLocation:
    """The server's repository dirs as they are once the move is done (before config)."""
    from omero_tui.core.relocation.database_proof import rebased

    plan = ctx.plan
    env = os.environ if ctx.options.env is None else ctx.options.env
    location = discover(server_dir_arg=plan.server_dir, env=env, candidates=[])
    for source in dict.fromkeys((plan.source, plan.source_real)):
        location = rebased(location, source, plan.target)
    return location


def verify_against_database(ctx: Context) -> None:
    """Every file OMERO's records know of the source is in the copy, with its size."""
    base = ctx.facts().get("db_baseline")
    if not base:
        return
    from omero_tui.core.relocation.database_proof import verify_copy

    ok, words = verify_copy(_location_at_target(ctx), base)
    if not ok:
        raise StepFailed(words)
    ctx.event("verify", "info", words)


def database_roots_note(ctx: Context) -> None:
    """Say which root OMERO's database records for the moved repository now."""
    if not ctx.facts().get("db_baseline"):
        return
    from omero_tui.core.relocation.database_proof import roots_after_start

    plan = ctx.plan
    env = os.environ if ctx.options.env is None else ctx.options.env
    location = discover(server_dir_arg=plan.server_dir, env=env, candidates=[])
    uuids: list[str] = []
    for directory in (location.data_dir.value, location.managed_dir.value):
        if directory and (directory == plan.target or directory.startswith(plan.target + os.sep)):
            uuids += [e.repo_uuid for e in read_identity(directory, "moved").entries if e.repo_uuid]
    started = ctx.status().done("start") and ctx.facts().get("server_was_running")
    for _uuid, root, updated in roots_after_start(
        location, list(dict.fromkeys(uuids)), plan.target
    ):
        if updated:
            ctx.note(
                Severity.INFO,
                "relocation.database_root",
                f"OMERO's database now records the repository root as {root}",
                root,
            )
        elif started:
            ctx.note(
                Severity.WARNING,
                "relocation.database_root",
                f"OMERO's database still names {root} as the repository root: the server "
                "has not updated it (look for 'Data directory moved' in Blitz-0.log)",
                root,
            )
        else:
            ctx.note(
                Severity.INFO,
                "relocation.database_root",
                f"OMERO's database still names {root} as the repository root; the server "
                "updates it when it next starts",
                root,
            )


def no_late_writer(ctx: Context) -> None:
    """Right before the switch: the source is still what the copy was compared with."""
    plan = ctx.plan
    if plan.method != "copy":
        return
    recorded = ctx.facts().get("source_stamps")
    if not stamps_usable(recorded):
        # A journal from before the stamps, or a state dir that lost them: stamp now
        # and compare again, so the check below still covers the whole window.
        stamp_source(ctx)
        compare_copy(ctx)
        recorded = ctx.facts().get("source_stamps")
    change = first_change(plan.source_real, recorded, ctx.cancel)
    if change:
        raise StepFailed(
            f"{change} after the server was stopped and the copy compared: the copy "
            f"would miss it, so config.xml was not switched and still names "
            f"{plan.source}; find what writes there, then `omero-tui relocate --rollback` "
            "and start again"
        )


def rewrite_config(ctx: Context) -> None:
    plan = ctx.plan
    if not plan.config_path:
        raise StepFailed("there is no config.xml to update")
    facts = ctx.facts()
    before = decode_bytes(facts["config_before"]["b64"])
    if "config_dir_before" not in facts:  # so a rollback can clear what a killed write left
        ctx.fact("config_dir_before", config_dir_names(plan.config_path))
    else:  # a resume: the temporary files of a killed write go, its backup stays
        kept = os.path.basename(plan.config_path) + ".bak-"
        for leftover in writer_leftovers(plan.config_path, facts["config_dir_before"], before):
            if not os.path.basename(leftover).startswith(kept):
                os.unlink(leftover)
    if plan.source_changes:  # first: a start must never find config.xml alone rewritten
        try:
            after = write_changes(plan.source_changes, facts["sources_before"])
        except SourceRewriteError as err:
            raise StepFailed(str(err)) from None
        if facts.get("sources_after") != after:
            ctx.fact("sources_after", after)
    current = Path(plan.config_path).read_bytes()
    if _applied(current, ctx):
        return  # written before a crash that came before the journal record
    target_identity_ok(ctx)  # a resume comes here long after the verify, maybe
    if current != before:
        raise StepFailed(
            f"{plan.config_path} was changed by someone else during the relocation; nothing written"
        )
    no_late_writer(ctx)
    result = apply_changes(
        plan.config_path,
        plan.config_changes,
        expect=parse_config(before, plan.config_path),
        env=ctx.options.env,
        lock_timeout=ctx.options.lock_timeout_s,
        profile=plan.profile,
    )
    written = Path(plan.config_path).read_bytes()
    ctx.fact(
        "config_after",
        {"sha256": hashlib.sha256(written).hexdigest(), "backup": str(result.backup or "")},
    )


def _applied(current: bytes, ctx: Context) -> bool:
    plan = ctx.plan
    try:
        doc = parse_config(current)
    except ConfigError:
        return False
    props = doc.properties(plan.profile or doc.stored_profile)
    return all(props.get(change.key) == change.new for change in plan.config_changes)


def start(ctx: Context) -> str:
    plan = ctx.plan
    env = os.environ if ctx.options.env is None else ctx.options.env
    location = discover(server_dir_arg=plan.server_dir, env=env, candidates=[])
    data_dir = location.data_dir.value or ""
    managed_dir = location.managed_dir.value or ""
    target_identity_ok(ctx)
    # Never start while a .omero file or CONFIG_ variable would put the old path back
    # (someone may have edited one since the preflight).
    systemd = ctx.controller.kind == "systemd"
    refused = start_guard(plan.server_dir, plan.config_path, plan.profile, env, systemd)
    if refused:
        raise StartRefused(refused)
    tried_before = ctx.status().steps_started.count("start") > 1
    if tried_before and is_running(ctx):  # a resume after a start that went through
        on_new = running_on(plan.target, data_dir, managed_dir, [plan.source_real])
        if on_new.ok:
            return on_new.reason
    return start_and_check(ctx, data_dir, managed_dir, [plan.source_real])


def finish(ctx: Context) -> None:
    plan = ctx.plan
    database_roots_note(ctx)
    if plan.config_path:
        remove_stale_lock(plan.config_path, ctx.facts().get("config_dir_before"))
    if plan.method != "copy":
        return
    remove_stamps(ctx.journal.state_path)
    ctx.journal.detach_target()
    times = (ctx.facts().get("scan") or {}).get("root_times_ns")
    if times:  # removing the journal copy touched the root's mtime
        os.utime(plan.target, ns=(times[0], times[1]))
    fd = os.open(plan.target, os.O_RDONLY)
    try:
        syncfs(fd)
    finally:
        os.close(fd)
    cache = os.path.join(plan.target, "BioFormatsCache")
    if plan.what == "data" and os.path.isdir(cache):
        ctx.note(
            Severity.INFO,
            "relocation.bioformats_cache",
            "BioFormatsCache holds memo files named after the old paths; they are dead "
            "weight now and may be cleared (OMERO rebuilds what it needs)",
            cache,
        )
