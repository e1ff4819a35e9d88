"""The rollback's steps, shared by ``rollback_relocation`` and the engine (which rolls
back by itself when it refuses to start the server: see ``steps_forward``).

Gives back exactly the state before the relocation began: config.xml's original bytes
(unless someone else changed it since), the ``.omero`` lines it rewrote, the source
renamed back or the copy removed, the target's and parents' prior state, the server
started again if it was running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from omero_tui.core.config.xml_file import (
    ConfigDocument,
    ConfigError,
    parse_config,
    with_changes,
    write_config,
)
from omero_tui.core.findings import Severity
from omero_tui.core.relocation.config_rewrite import main_key, restore_config, writer_leftovers
from omero_tui.core.relocation.engine_context import Context, StepFailed
from omero_tui.core.relocation.journal import decode_bytes
from omero_tui.core.relocation.move import RenameRefused, rename_back
from omero_tui.core.relocation.server_steps import ensure_stopped, is_running
from omero_tui.core.relocation.source_checks import explain_mismatch
from omero_tui.core.relocation.source_rewrite import restore_changes
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.core.relocation.target_state import remove_copy, restore_parent, restore_root


def roll_back(ctx: Context, status: RelocationStatus) -> tuple[tuple[str, str], ...]:
    """Everything back; returns the entries left in the target, each with why (never
    "rolled back" while there are any: see ``left_text``)."""
    plan = ctx.plan
    facts = ctx.facts()
    # Until config.xml changed, a running server can only be using the old location,
    # which the rollback leaves alone: it keeps running. Once it may have started on the
    # new one (or a rename moved the old one away), it must be stopped first.
    may_run_on_target = status.started("config") or status.started("start")
    if may_run_on_target or (plan.method == "rename" and status.started("rename")):
        ensure_stopped(ctx, [plan.target, plan.source_real])
    _restore_config(ctx, facts)
    for line in restore_changes(
        facts.get("sources_before") or [], facts.get("sources_after") or []
    ):
        ctx.note(Severity.WARNING, "relocation.rollback_source_kept", line)
    left: tuple[tuple[str, str], ...] = ()
    if plan.method == "rename":
        if os.path.isdir(plan.target) and not os.path.lexists(plan.source_real):
            try:
                rename_back(plan.target, plan.source_real)
            except RenameRefused as err:
                raise StepFailed(str(err)) from None
    else:
        ctx.journal.detach_target()
        cleanup = remove_copy(
            plan.target, plan.source_real, server_may_have_run=status.started("start")
        )
        left = tuple(zip(cleanup.left, cleanup.why, strict=True))
        for rel, why in left:
            ctx.note(
                Severity.WARNING,
                "relocation.rollback_left",
                f"left in place: {os.path.join(plan.target, rel)} ({why})",
                os.path.join(plan.target, rel),
            )
    before = facts.get("target_before") or {}
    if before.get("existed"):
        if not os.path.isdir(plan.target):
            os.mkdir(plan.target, 0o700)  # a rename replaced it, or it was removed
        restore_root(plan.target, before)
    for directory in reversed(facts.get("created_dirs") or []):
        with contextlib.suppress(FileNotFoundError, OSError):
            if os.path.isdir(directory) and not os.listdir(directory):
                os.rmdir(directory)
    for parent in facts.get("parents_before") or []:
        restore_parent(parent)  # only when its listing is again what it was
    if facts.get("server_was_running") and not is_running(ctx):
        result = ctx.controller.start()
        if ctx.controller.manual:
            ctx.note(
                Severity.WARNING,
                "relocation.rollback_start",
                f"start the server again by hand: it uses {plan.source} as before",
            )
        elif not result.ok:
            ctx.note(
                Severity.WARNING,
                "relocation.rollback_start",
                f"the server did not start again on the old location: {result.line()}",
            )
        else:  # started: on the old location, or did a configuration source say otherwise?
            why = explain_mismatch(
                plan.server_dir, plan.config_path, plan.profile, main_key(plan.what),
                plan.source, ctx.options.env, ctx.controller.kind == "systemd",
            )  # fmt: skip
            if why:
                ctx.note(
                    Severity.WARNING,
                    "relocation.rollback_start_elsewhere",
                    f"the server started again, but not on {plan.source}: {why}",
                )
    return left


def left_text(ctx: Context, left: tuple[tuple[str, str], ...]) -> str:
    """One line for entries a rollback left in the target: the first named, with why."""
    plan = ctx.plan
    rel, why = left[0]
    more = f" and {len(left) - 1} more (listed above)" if len(left) > 1 else ""
    return (
        f"{len(left)} entries are left in {plan.target}: {os.path.join(plan.target, rel)} "
        f"({why}){more}; config.xml is restored and the old copy {plan.source} is in use "
        "again; look at them, move them out of the target"
    )


def _restore_config(ctx: Context, facts: dict) -> None:
    plan = ctx.plan
    before = facts.get("config_before")
    if not before or not plan.config_path:
        return
    original = decode_bytes(before["b64"])
    whose = _whose_config(ctx, facts, original)
    if whose == "ours":
        restore_config(plan.config_path, original, lock_timeout=ctx.options.lock_timeout_s)
    elif whose == "mixed":
        # Written by the relocation, then changed by someone else: only its keys get
        # their old values back, so their change stays and nothing names the copy.
        write_config(
            Path(plan.config_path),
            {c.key: c.old for c in plan.config_changes},
            env=ctx.options.env,
            lock_timeout=ctx.options.lock_timeout_s,
        )
        ctx.note(
            Severity.WARNING,
            "relocation.rollback_config_merged",
            "config.xml was changed by someone else after the relocation wrote it: only "
            f"{', '.join(c.key for c in plan.config_changes)} were set back",
            plan.config_path,
        )
    elif whose == "back":
        ctx.note(
            Severity.INFO,
            "relocation.rollback_config_back",
            "config.xml was rewritten after this relocation wrote it (the .omero files a "
            "start reloads, or someone else) and already names the old location: left as it is",
            plan.config_path,
        )
    elif facts.get("config_after"):
        ctx.note(
            Severity.WARNING,
            "relocation.rollback_config_kept",
            "config.xml was changed by someone else after this relocation wrote it: left as "
            f"it is; check {', '.join(c.key for c in plan.config_changes)}",
            plan.config_path,
        )
    else:
        ctx.note(
            Severity.WARNING,
            "relocation.rollback_config_kept",
            "config.xml was changed by someone else and never by this relocation: left as it is",
            plan.config_path,
        )
    backup = (facts.get("config_after") or {}).get("backup")
    if backup:
        with contextlib.suppress(OSError):
            if Path(backup).read_bytes() == original:
                os.unlink(backup)
    names_before = facts.get("config_dir_before")
    if names_before is not None:  # a write killed half way: its temporary files, its backup
        for leftover in writer_leftovers(plan.config_path, names_before, original):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _whose_config(ctx: Context, facts: dict, original: bytes) -> str:
    """ "ours" (the original or what the relocation wrote: put the original bytes back),
    "mixed" (ours, then changed by someone else), "back" (ours, then rewritten with
    the old values) or "theirs" (changed by someone else).

    Restoring the original bytes unconditionally undid another admin's `omero config set`
    made during the copy, which the rewrite had refused to overwrite (found by
    tests/faults/test_config_faults.py)."""
    plan = ctx.plan
    try:
        current = Path(plan.config_path or "").read_bytes()
    except FileNotFoundError:
        return "ours"  # gone: the original goes back
    written = (facts.get("config_after") or {}).get("sha256")
    if current == original or written == hashlib.sha256(current).hexdigest():
        return "ours"
    try:
        now, then = parse_config(current), parse_config(original)
    except ConfigError:
        return "ours"  # unusable either way: the original is the one that worked
    profile = plan.profile or then.stored_profile
    ours = with_changes(then, profile, {c.key: c.new for c in plan.config_changes})
    if _all_properties(now) == _all_properties(ours):
        return "ours"  # written by us just before a kill, before its journal record
    props = now.properties(profile)
    if any(props.get(c.key) == c.new for c in plan.config_changes):
        return "mixed"
    if facts.get("config_after") and all(props.get(c.key) == c.old for c in plan.config_changes):
        return "back"  # ours, then rewritten with the old values (a start's omero load)
    return "theirs"


def _all_properties(doc: ConfigDocument) -> dict[str, dict[str, str]]:
    return {name: doc.properties(name) for name in doc.profile_names()}
