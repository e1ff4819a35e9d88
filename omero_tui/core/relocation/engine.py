"""The relocation engine: plan, preflight, then stop, move, verify, rewrite, start.

Public entry points (no UI here; the CLI and the wizard call these):

- :func:`prepare_relocation` plans and runs the preflight; it changes nothing.
- :func:`run_relocation` runs a prepared plan to the end, journalling every step.
- :func:`resume_relocation` continues an interrupted one where its journal stops.
- :func:`rollback_relocation` (``rollback.py``) and :func:`remove_source`
  (``remove_source.py``) undo one, or finish one by deleting the old copy.

Long steps take ``progress`` and ``cancel``; cancelling stops at a safe point and leaves
a journal from which ``resume`` or ``rollback`` carries on. The source is never changed
by a move (a same-filesystem rename moves it whole, and is undone by one rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import omero_tui
from omero_tui.core.config.xml_file import ConfigDocument, ConfigError, read_config
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.findings import Severity
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.perms.server_user import ServerUser
from omero_tui.core.record import frozen, replace
from omero_tui.core.relocation import steps_forward
from omero_tui.core.relocation.checks import PreflightReport
from omero_tui.core.relocation.config_rewrite import FOLLOWER_KEYS, main_key, relative_under
from omero_tui.core.relocation.engine_context import (
    Ask,
    Context,
    EngineOptions,
    RunResult,
    StartRefused,
    StepEvent,
    StepFailed,
)
from omero_tui.core.relocation.guards import target_mount
from omero_tui.core.relocation.journal import (
    JOURNAL_VERSION,
    Journal,
    JournalError,
    encode_bytes,
    new_relocation_id,
    relocation_lock,
)
from omero_tui.core.relocation.plan import RelocationPlan, RelocationRefused, build_plan, with_scan
from omero_tui.core.relocation.preflight import run_preflight
from omero_tui.core.relocation.progress import Cancelled, Progress
from omero_tui.core.relocation.removal_guard import device_of
from omero_tui.core.relocation.rollback_steps import left_text, roll_back
from omero_tui.core.relocation.server_steps import is_running
from omero_tui.core.relocation.source_checks import assess_sources
from omero_tui.core.relocation.source_rewrite import originals
from omero_tui.core.relocation.source_stamps import remove_stamps
from omero_tui.core.relocation.status import RelocationStatus, find_unfinished_relocation
from omero_tui.core.relocation.tree_scan import TreeScan, scan_tree
from omero_tui.core.server.control import ControlError, ServerController
from omero_tui.core.server.deployment import container_refusal
from omero_tui.core.server.for_location import make_controller, server_user_of
from omero_tui.core.settings import Settings


@frozen
class Prepared:
    plan: RelocationPlan
    scan: TreeScan  # taken while the server may still run: an estimate for the preflight
    preflight: PreflightReport
    config_doc: ConfigDocument | None
    controller: ServerController
    server_user: ServerUser | None
    db_baseline: dict[str, Any] | None = None  # OMERO's records of the source (or None)


def prepare_relocation(
    location: ServerLocation,
    target: str,
    what: str = "data",
    *,
    settings: Settings | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
    controller: ServerController | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    copy: bool = False,
) -> Prepared:
    """Plan and preflight; nothing is changed. RelocationRefused for unusable input.

    ``copy``: copy and verify even on one filesystem, keeping the old copy (``--copy``).
    """
    env = os.environ if options.env is None else options.env
    refuse_containerised(location, target, what, env)
    user = server_user_of(location, settings)
    if controller is None:
        try:
            controller = make_controller(settings, location.server_dir.value, env=env, user=user)
        except ControlError as err:
            raise RelocationRefused("relocation.controller", str(err)) from None
    plan, doc = build_plan(
        location, target, what, controller=controller.describe(), env=env, copy=copy
    )
    if plan.config_path and doc is None:
        # Said first: with config.xml unreadable the data dir is only OMERO's default
        # (/OMERO), and the admin was told "/OMERO cannot be read" (found by tests/faults).
        try:
            read_config(Path(plan.config_path))
        except ConfigError as err:
            raise RelocationRefused(
                "relocation.config_unreadable",
                f"config.xml cannot be used: {err}; nothing was changed",
            ) from None
    try:
        scan = scan_tree(plan.source_real, progress, cancel)
    except OSError as err:
        raise RelocationRefused(
            "relocation.source_missing",
            f"{plan.source} cannot be read ({err.strerror or err}); nothing to move",
        ) from None
    changes, source_checks = assess_sources(
        plan,
        env,
        rewrite=options.rewrite_config_sources,
        ask_systemd=controller.kind == "systemd",  # a refused input runs nothing else
    )
    plan = with_scan(replace(plan, source_changes=changes), scan)
    unfinished = find_unfinished_relocation(options.state_dir)
    preflight = run_preflight(
        plan,
        scan,
        location,
        server_user=user,
        env=env,
        unfinished=unfinished.describe() if unfinished else None,
        probe_locks=options.probe_locks,
        source_checks=source_checks,
    )
    base = None
    if options.database:
        from omero_tui.core.relocation.database_proof import baseline

        check, base = baseline(location)
        preflight = PreflightReport((*preflight.checks, check))
    return Prepared(plan, scan, preflight, doc, controller, user, base)


def refuse_containerised(
    location: ServerLocation, target: str, what: str, env: Mapping[str, str]
) -> None:
    """RelocationRefused, before anything is stopped, when the server is a container's."""
    if location.demo:
        return
    source = (location.data_dir.value if what == "data" else location.managed_dir.value) or ""
    keys = [main_key(what)] + [
        key
        for key in FOLLOWER_KEYS
        if key != main_key(what)
        and location.properties.get(key)
        and relative_under(location.properties[key], source) is not None
    ]
    why = container_refusal(location, target, keys, env=env)
    if why:
        raise RelocationRefused("relocation.container", why)


@contextlib.contextmanager
def exclusive_relocation(state_dir: Path | None) -> Iterator[None]:
    """One relocation at a time; a journal that cannot be read or locked is a refusal."""
    try:
        with relocation_lock(state_dir):
            yield
    except JournalError as err:
        raise RelocationRefused("relocation.journal", str(err)) from None


def run_relocation(
    prepared: Prepared,
    *,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
    progress: Callable[[Progress], None] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    cancel: threading.Event | None = None,
    ask: Ask | None = None,
) -> RunResult:
    """Carry out a prepared plan whose preflight passed. RelocationRefused otherwise."""
    if not prepared.preflight.ok:
        first = prepared.preflight.failures[0]
        raise RelocationRefused(first.code, first.reason)
    plan = prepared.plan
    with exclusive_relocation(options.state_dir):
        unfinished = find_unfinished_relocation(options.state_dir)
        if unfinished is not None:
            raise RelocationRefused("relocation.unfinished", unfinished.describe())
        relocation_id = new_relocation_id()
        journal = Journal.create(options.state_dir, relocation_id)
        journal.append(
            {
                "type": "begin",
                "id": relocation_id,
                "version": JOURNAL_VERSION,
                "tool": f"omero-tui {omero_tui.__version__}",
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "plan": plan.to_json(),
            }
        )
        ctx = Context(
            plan,
            journal,
            prepared.controller,
            options,
            progress,
            on_step,
            cancel or threading.Event(),
            ask,
        )
        record_start_facts(ctx)
        if prepared.db_baseline is not None and "db_baseline" not in ctx.facts():
            ctx.fact("db_baseline", prepared.db_baseline)
        return forward(ctx)


def resume_relocation(
    status: RelocationStatus | None = None,
    *,
    settings: Settings | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
    controller: ServerController | None = None,
    progress: Callable[[Progress], None] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    cancel: threading.Event | None = None,
    ask: Ask | None = None,
) -> RunResult:
    """Continue an interrupted relocation from its journal; nothing verified is redone."""
    with exclusive_relocation(options.state_dir):
        status = status or find_unfinished_relocation(options.state_dir)
        if status is None:
            raise RelocationRefused("relocation.nothing_to_resume", "no relocation to resume")
        if status.state != "interrupted":
            raise RelocationRefused(
                "relocation.not_interrupted", f"relocation {status.id} is {status.state}"
            )
        if status.started("rollback"):
            raise RelocationRefused(
                "relocation.rollback_started",
                f"a rollback of {status.id} was started; finish it with --rollback",
            )
        ctx = reopen(status, settings, options, controller, progress, on_step, cancel, ask)
        ctx.journal.append({"type": "resume", "pid": os.getpid()})
        record_start_facts(ctx)
        return forward(ctx)


def reopen(
    status: RelocationStatus,
    settings: Settings | None,
    options: EngineOptions,
    controller: ServerController | None,
    progress: Callable[[Progress], None] | None,
    on_step: Callable[[StepEvent], None] | None,
    cancel: threading.Event | None,
    ask: Ask | None,
) -> Context:
    """A context for an existing journal (resume, rollback, remove-source)."""
    plan = RelocationPlan.from_json(status.plan)
    journal = Journal(Path(status.journal_path))
    if controller is None:
        env = os.environ if options.env is None else options.env
        location = discover(server_dir_arg=plan.server_dir, env=env, candidates=[])
        try:
            controller = make_controller(
                settings, plan.server_dir, env=env, user=server_user_of(location, settings)
            )
        except ControlError as err:
            raise RelocationRefused("relocation.controller", str(err)) from None
    return Context(
        plan, journal, controller, options, progress, on_step, cancel or threading.Event(), ask
    )


def record_start_facts(ctx: Context) -> None:
    """What resume and rollback need of the starting state, each recorded once.

    Also called by a resume: a run killed right after its "begin" record left some of
    them unwritten, and as the stop step had not started, the state is still the
    starting one.
    """
    if ctx.status().started("stop"):
        return
    plan, facts = ctx.plan, ctx.facts()
    if "target_mount" not in facts:  # what the preflight judged; a resume checks it again
        ctx.fact("target_mount", target_mount(plan.target))
    if "server_was_running" not in facts:
        ctx.fact("server_was_running", is_running(ctx))
    if "identity" not in facts:
        ctx.fact("identity", identity_of(plan.source_real))
    if plan.method == "copy" and "source_device" not in facts:
        # --remove-source tells a bind mount of the copy at the old path by this.
        with contextlib.suppress(OSError):
            ctx.fact("source_device", device_of(plan.source_real))
    if plan.config_path and "config_before" not in facts:
        original = Path(plan.config_path).read_bytes()
        ctx.fact(
            "config_before",
            {"b64": encode_bytes(original), "sha256": hashlib.sha256(original).hexdigest()},
        )
    if plan.source_changes and "sources_before" not in facts:
        ctx.fact("sources_before", originals(plan.source_changes))


def identity_of(repo_dir: str) -> list[list[str | None]]:
    return [[e.db_uuid, e.repo_uuid] for e in read_identity(repo_dir, "repository").entries]


def forward(ctx: Context) -> RunResult:
    """Run every step the journal has not done yet, in order."""
    try:
        return steps_forward.run_steps(ctx)
    except Cancelled:
        if steps_forward.nothing_changed(ctx):
            steps_forward.restart_if_needed(ctx)
            ctx.end("aborted")
            return ctx.result("cancelled", "cancelled before anything was moved")
        return ctx.result(
            "cancelled",
            "cancelled at a safe point; run `omero-tui relocate --resume` to continue "
            "or `--rollback` to undo",
        )
    except StartRefused as err:
        return _roll_back_refused_start(ctx, str(err))
    except StepFailed as err:
        if steps_forward.nothing_changed(ctx):
            steps_forward.restart_if_needed(ctx)
            ctx.end("aborted")
            return ctx.result("aborted", str(err))
        return _failed(ctx, str(err))
    except (OSError, ConfigError, JournalError) as err:
        detail = str(err) if not isinstance(err, OSError) else _os_error(err, ctx)
        return _failed(ctx, detail)


def _roll_back_refused_start(ctx: Context, reason: str) -> RunResult:
    """Never leave the server down with its repository moved: when it must not start on
    the new location, everything goes back and it starts on the old one again."""
    plan = ctx.plan
    try:
        with ctx.step("rollback", "putting everything back, so the server runs as before"):
            left = roll_back(ctx, ctx.status())
            if left:
                raise StepFailed(left_text(ctx, left))
    except (StepFailed, OSError, ConfigError) as err:
        return _failed(ctx, f"{reason}; the automatic rollback failed too: {err}")
    remove_stamps(ctx.journal.state_path)
    ctx.end("rolled back")
    return ctx.result(
        "aborted",
        f"{reason}; so everything was put back as it was: {plan.source} is where it was and "
        "config.xml and the .omero lines are restored; fix that source and relocate again",
    )


def _failed(ctx: Context, detail: str) -> RunResult:
    ctx.note(Severity.CRITICAL, "relocation.failed", detail)
    return ctx.result(
        "failed",
        f"{detail}; {where_the_repository_is(ctx)}: run `omero-tui relocate --resume` to "
        "retry or `--rollback` to undo",
    )


def where_the_repository_is(ctx: Context) -> str:
    """Honest words for the source after a failure: a rename has moved it whole."""
    plan = ctx.plan
    if plan.method == "rename" and ctx.status().started("rename"):
        if os.path.isdir(plan.target) and not os.path.lexists(plan.source_real):
            return f"the repository was renamed to {plan.target}; nothing is at {plan.source} now"
        return f"the rename of {plan.source} to {plan.target} may have happened: check both"
    return "the source is untouched"


def _os_error(err: OSError, ctx: Context | None = None) -> str:
    filename = err.filename
    if isinstance(filename, (str, bytes)) and filename:
        where = f" ({os.fsdecode(filename)})"
    elif ctx is not None:  # a descriptor or nothing: the step's place is the best there is
        where = f" (under {ctx.plan.target} or {ctx.plan.source})"
    else:
        where = ""
    return f"{err.strerror or err}{where}"


__all__ = [
    "EngineOptions",
    "exclusive_relocation",
    "Prepared",
    "RunResult",
    "StepEvent",
    "forward",
    "make_controller",
    "prepare_relocation",
    "reopen",
    "resume_relocation",
    "run_relocation",
]
