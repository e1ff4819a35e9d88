"""``omero-tui relocate``: the relocation engine, headless.

``--to DEST [--managed-only] [--dry-run] [--yes]`` plans, checks, asks, and moves;
``--resume``, ``--rollback`` and ``--remove-source`` act on the journal of the last
relocation, each with its own ``--dry-run`` (with ``--to DEST``, ``--resume`` and
``--rollback`` also find the journal a copy keeps in DEST, should the state dir have
lost its own). ``--json`` streams every event as one
JSON object per line. Any refusal exits 1 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omero_tui.commands.context import load_settings, locate, state_dir
from omero_tui.commands.errors import CliError
from omero_tui.commands.fit import fit
from omero_tui.core.json_output import hide_secrets
from omero_tui.core.relocation.engine import (
    EngineOptions,
    Prepared,
    prepare_relocation,
    refuse_containerised,
    resume_relocation,
    run_relocation,
)
from omero_tui.core.relocation.engine_context import RunResult, StepEvent
from omero_tui.core.relocation.journal import JournalError, read_records
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.relocate_dry_runs import (
    describe_remaining,
    rollback_actions,
)
from omero_tui.core.relocation.remove_source import remove_source
from omero_tui.core.relocation.rollback import check_rollback_allowed, rollback_relocation
from omero_tui.core.relocation.status import (
    RelocationStatus,
    adopt_target_journal,
    find_unfinished_relocation,
    latest_relocation,
    status_of,
    target_journal,
)
from omero_tui.core.relocation.target_trust import RAM_CODE, RAM_CONFIRMATION
from omero_tui.core.usage.format import human_bytes

PROFILE_NOTES = ("layout.omero_config_ignored", "layout.profile_not_active")


def run_relocate(args: argparse.Namespace) -> int:
    modes = [m for m in ("resume", "rollback", "remove_source") if getattr(args, m)]
    if len(modes) > 1 or (args.remove_source and args.to):
        raise CliError("give one of --to DEST, --resume, --rollback or --remove-source")
    if not modes and not args.to:
        raise CliError("give --to DEST (or --resume, --rollback, --remove-source)")
    out = Output(args.json)
    settings = load_settings(args)
    # The console's state dir for this server: journals made by either are seen by both.
    args.state_dir = state_dir(locate(args))
    cancel = threading.Event()
    previous = _cancel_on_ctrl_c(cancel)
    try:
        if args.resume:
            result = _resume(args, out, settings, cancel)
        elif args.rollback:
            result = _rollback(args, out, settings, cancel)
        elif args.remove_source:
            result = _remove(args, out, settings, cancel)
        else:
            result = _relocate(args, out, settings, cancel)
    except RelocationRefused as err:
        out.error(str(err), code=err.code)
        raise CliError(str(err)) from None
    except OSError as err:  # never a traceback, and never a bare descriptor number
        name = err.filename
        where = f" ({os.fsdecode(name)})" if isinstance(name, (str, bytes)) and name else ""
        message = f"{err.strerror or err}{where}; stopped"
        out.error(message, code="relocation.os_error")
        raise CliError(message) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if result is None:
        return 0
    out.result(result)
    if not result.ok:
        raise CliError(result.message)
    return 0


def _relocate(
    args: argparse.Namespace, out: Output, settings: Any, cancel: threading.Event
) -> RunResult | None:
    location = locate(args)
    for note in location.notes:  # another profile named: said before the plan, loudly
        if note.code in PROFILE_NOTES:
            out.line(f"{note.severity.label.upper()}: {note.message}")
    what = "managed" if args.managed_only else "data"
    prepared = prepare_relocation(
        location,
        args.to,
        what,
        settings=settings,
        options=engine_options(args),
        progress=out.progress,
        cancel=cancel,
        copy=args.copy,
    )
    out.plan(prepared)
    if not prepared.preflight.ok:
        first = prepared.preflight.failures[0]
        raise RelocationRefused(first.code, f"refused: {first.reason}")
    if args.dry_run:
        out.line("Dry run: nothing was changed.")
        return None
    _accept_ram(args, prepared)
    _confirm(args, f"Stop the server and move {prepared.plan.source} to {prepared.plan.target}?")
    return run_relocation(
        prepared,
        options=engine_options(args),
        progress=out.progress,
        on_step=out.step,
        cancel=cancel,
        ask=_asker(args),
    )


def _resume(
    args: argparse.Namespace, out: Output, settings: Any, cancel: threading.Event
) -> RunResult | None:
    status = find_unfinished_relocation(args.state_dir) or _adopted(args)
    if status is None:
        raise RelocationRefused(
            "relocation.nothing_to_resume", "no interrupted relocation to resume"
        )
    return _act_on_journal(
        args, out, settings, cancel, status,
        actions=describe_remaining(status),
        question=f"Resume relocation {status.id}?",
        engine_call=resume_relocation,
    )  # fmt: skip


def _rollback(
    args: argparse.Namespace, out: Output, settings: Any, cancel: threading.Event
) -> RunResult | None:
    status = find_unfinished_relocation(args.state_dir) or _adopted(args)
    if status is None:
        latest = latest_relocation(args.state_dir)
        why = f"the last relocation is {latest.state}" if latest else "there is no relocation"
        raise RelocationRefused("relocation.nothing_to_roll_back", f"nothing to roll back: {why}")
    check_rollback_allowed(status)
    return _act_on_journal(
        args, out, settings, cancel, status,
        actions=rollback_actions(status),
        question=f"Roll back relocation {status.id}?",
        engine_call=rollback_relocation,
    )  # fmt: skip


def _act_on_journal(
    args: argparse.Namespace,
    out: Output,
    settings: Any,
    cancel: threading.Event,
    status: RelocationStatus,
    *,
    actions: list[str],
    question: str,
    engine_call: Callable[..., RunResult],
) -> RunResult | None:
    """Say what will be done to this journal's relocation, ask, then let the engine do it."""
    what = str(status.plan.get("what") or "data")
    refuse_containerised(locate(args), status.target, what, dict(os.environ))
    out.status(status.describe(), actions)
    if args.dry_run:
        out.line("Dry run: nothing was changed.")
        return None
    _confirm(args, question)
    return engine_call(
        status,
        options=engine_options(args),
        settings=settings,
        progress=out.progress,
        on_step=out.step,
        cancel=cancel,
        ask=_asker(args),
    )


def _remove(
    args: argparse.Namespace, out: Output, settings: Any, cancel: threading.Event
) -> RunResult | None:
    status = latest_relocation(args.state_dir)
    if status is None:
        raise RelocationRefused("relocation.remove_not_complete", "there is no relocation")
    out.status(
        status.describe(), [f"re-verify {status.source} against {status.target}, then delete it"]
    )
    if not args.dry_run:
        _confirm(args, f"Delete {status.source} for good?")
    return remove_source(
        status,
        options=engine_options(args),
        settings=settings,
        progress=out.progress,
        on_step=out.step,
        cancel=cancel,
        dry_run=args.dry_run,
    )


# Test-only (never set in production): a shorter look at a freshly started server, so
# the CLI tests do not wait the full default for each start.
TESTONLY_SETTLE_ENV = "OMERO_TUI_TESTONLY_START_SETTLE_S"


def engine_options(args: argparse.Namespace | None = None) -> EngineOptions:
    rewrite = bool(getattr(args, "rewrite_config_sources", False))
    state: Path | None = getattr(args, "state_dir", None)  # the console's, for this server
    value = os.environ.get(TESTONLY_SETTLE_ENV)
    try:
        settle = {"start_settle_s": float(value)} if value else {}
    except ValueError:
        settle = {}
    return EngineOptions(state_dir=state, rewrite_config_sources=rewrite, **settle)


def _adopted(args: argparse.Namespace) -> RelocationStatus | None:
    if not args.to:
        return None
    try:
        if args.dry_run:  # only look: adopting writes the journal into the state dir
            path = target_journal(args.to)
            status = status_of(read_records(path), str(path)) if path else None
        else:
            status = adopt_target_journal(args.to, args.state_dir)
    except (JournalError, OSError) as err:
        raise RelocationRefused("relocation.journal", str(err)) from None
    return status if status is not None and status.unfinished else None


def _accept_ram(args: argparse.Namespace, prepared: Prepared) -> None:
    """A target in memory goes ahead only on words that say so: ``--lost-at-reboot``, or
    the admin typing them; ``--yes`` alone is not enough."""
    ram = next((c for c in prepared.preflight.warnings if c.code == RAM_CODE), None)
    if ram is None or args.lost_at_reboot:
        return
    if args.yes or args.json or not sys.stdin.isatty():
        raise RelocationRefused(RAM_CODE, f"refused: {ram.reason}; give --lost-at-reboot to go on")
    answer = input(f"{ram.reason}. Type {RAM_CONFIRMATION} to go on: ").strip()
    if answer != RAM_CONFIRMATION:
        raise CliError("not confirmed; nothing was changed")


def _confirm(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError("confirmation needed: run again with --yes (or --dry-run to see the plan)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("not confirmed; nothing was changed")


def _asker(args: argparse.Namespace) -> Callable[[str], bool]:
    def ask(message: str) -> bool:
        if args.yes or not sys.stdin.isatty():
            return bool(args.yes)
        input(f"{message} Press Enter when done (Ctrl-C to stop). ")
        return True

    return ask


def _cancel_on_ctrl_c(cancel: threading.Event) -> Any:
    """The first Ctrl-C cancels at the next safe point; a second one interrupts at once.

    Returns the handler it replaced (None off the main thread, where none is set).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(_signum: int, _frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return signal.signal(signal.SIGINT, handler)


class Output:
    """Text for a person, or one JSON object per line for a program."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.tty = sys.stderr.isatty()
        self._last = time.monotonic()  # in a log, the first line comes after 2 s

    def emit(self, event: dict[str, Any]) -> None:
        print(json.dumps(hide_secrets(event)), flush=True)

    def line(self, text: str) -> None:
        if self.as_json:
            self.emit({"event": "message", "message": text})
        else:
            print(fit(text), flush=True)

    def error(self, message: str, code: str = "") -> None:
        if self.as_json:
            self.emit({"event": "error", "code": code, "message": message})

    def plan(self, prepared: Prepared) -> None:
        plan = prepared.plan
        if self.as_json:
            self.emit({"event": "plan", **plan.to_json()})
            for check in prepared.preflight.checks:
                self.emit({"event": "check", **check.to_json()})
            return
        scan = prepared.scan
        rows = [
            ("what", "the data dir (omero.data.dir)" if plan.what == "data" else "the managed dir"),
            (
                "source",
                plan.source
                + (f" (really {plan.source_real})" if plan.source_real != plan.source else ""),
            ),
            ("target", plan.target),
            (
                "size",
                scan.counts_words(),
            ),
            ("method", f"{plan.method}: {plan.method_why}"),
            ("server", plan.controller),
            *[("config", f"{c.key} = {c.new}") for c in plan.config_changes],
            *[("config", f"{c.path}:{c.line} `{c.new_text}`") for c in plan.source_changes],
            *[("note", n) for n in plan.notes],
        ]
        print("Relocation plan")
        for name, value in rows:
            print(fit(f"  {name:<7} {value}"))
        print("Steps")
        for number, step in enumerate(plan.steps, start=1):
            print(fit(f"  {number}. {step.id}: {step.title}"))
        print("Checks")
        marks = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}
        for check in prepared.preflight.checks:
            print(fit(f"  {marks[check.status]} {check.reason}"))
        sys.stdout.flush()

    def status(self, summary: str, actions: list[str]) -> None:
        if self.as_json:
            self.emit({"event": "status", "summary": summary, "actions": actions})
            return
        print(fit(summary))
        for action in actions:
            print(fit(f"  - {action}"))
        sys.stdout.flush()

    def step(self, event: StepEvent) -> None:
        if self.as_json:
            self.emit(event.to_json())
            return
        self._clear()
        print(fit(f"[{event.step}] {event.state}: {event.message}"), flush=True)

    def progress(self, progress: Progress) -> None:
        if self.as_json:
            self.emit(progress.to_json())
            return
        text = _progress_text(progress)
        if self.tty:
            sys.stderr.write("\r" + text[:119].ljust(119))
            sys.stderr.flush()
        elif time.monotonic() - self._last >= 2.0:
            self._last = time.monotonic()
            print(text, flush=True)

    def _clear(self) -> None:
        if self.tty and not self.as_json:
            sys.stderr.write("\r" + " " * 119 + "\r")
            sys.stderr.flush()

    def result(self, result: RunResult) -> None:
        if self.as_json:
            self.emit(result.to_json())
            return
        self._clear()
        for note in result.notes:
            print(fit(f"{note.severity.label.upper()}: {note.message}"))
        print(fit(f"{result.outcome.upper()}: {result.message}"), flush=True)


def _progress_text(p: Progress) -> str:
    parts = [f"[{p.step}] {p.message}"]
    if p.bytes_total:
        parts.append(f"{human_bytes(p.bytes_done)} of {human_bytes(p.bytes_total)}")
    if p.rate:
        parts.append(f"{human_bytes(p.rate)}/s")
    if p.eta_s is not None and p.rate:
        parts.append(f"ETA {int(p.eta_s) // 60}:{int(p.eta_s) % 60:02d}")
    return ", ".join(parts)
