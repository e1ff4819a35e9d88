"""The engine's server steps: stop (proven) and start (checked on the new location)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from omero_tui.core.findings import Severity
from omero_tui.core.relocation.config_rewrite import main_key
from omero_tui.core.relocation.engine_context import Context, StepFailed
from omero_tui.core.relocation.progress import check_cancel
from omero_tui.core.relocation.source_checks import explain_mismatch
from omero_tui.core.server.processes import find_server_processes
from omero_tui.core.server.state import (
    StopProof,
    find_moved_line,
    log_size,
    prove_stopped,
    running_on,
    wait_until_running,
    wait_until_stopped,
)


def is_running(ctx: Context) -> bool:
    status = ctx.controller.status()
    ctx.remember_status(status)
    if status is None and ctx.plan.server_dir:
        return bool(find_server_processes(ctx.plan.server_dir))
    return bool(status)


def ensure_stopped(ctx: Context, directories: Sequence[str]) -> StopProof:
    """Stop the server if it runs, then prove it; StepFailed (one line) when it will not."""
    controller = ctx.controller
    server_dir = ctx.plan.server_dir
    proof = prove_stopped(controller, server_dir, directories, status=ctx.fresh_status())
    if proof.stopped:
        return proof
    if proof.status or proof.processes:
        if controller.manual:
            asked = ctx.ask is not None and ctx.ask(
                f"Stop the OMERO server now ({server_dir}), then confirm."
            )
            if not asked:
                raise StepFailed("the server was not stopped by hand; nothing was moved")
        else:
            result = controller.stop()
            if not result.ok:
                proof = wait_until_stopped(controller, server_dir, directories, 2.0)
                if not proof.stopped:
                    raise StepFailed(
                        f"the server did not stop ({result.line()}); nothing was moved"
                    )
    proof = wait_until_stopped(
        controller, server_dir, directories, ctx.options.stop_timeout_s, ctx.cancel
    )
    if not proof.stopped:
        check_cancel(ctx.cancel)  # the wait ended early because the admin cancelled
        raise StepFailed(f"the server is not proven stopped: {proof.reason}; nothing was moved")
    return proof


def _cause(ctx: Context) -> str:
    """ "; config.xml has omero.data.dir = /OMERO since the start: put back by FILE:LINE",
    or "" when config.xml still names the target."""
    plan = ctx.plan
    key = main_key(plan.what)
    why = explain_mismatch(
        plan.server_dir, plan.config_path, plan.profile, key, plan.target, ctx.options.env,
        ctx.controller.kind == "systemd",
    )  # fmt: skip
    return f"; {why}" if why else ""


def blitz_log(server_dir: str | None) -> str:
    return os.path.join(server_dir or "", "var", "log", "Blitz-0.log")


def start_and_check(ctx: Context, data_dir: str, managed_dir: str, old_dirs: Sequence[str]) -> str:
    """Start, wait for "running", check it uses the new location; returns a one-line summary."""
    log = blitz_log(ctx.plan.server_dir)
    offset = log_size(log)
    if ctx.controller.manual:
        if ctx.ask is None or not ctx.ask(
            f"Start the OMERO server now; it will use {ctx.plan.target}. Confirm when started."
        ):
            raise StepFailed("the server was not started by hand")
    else:
        result = ctx.controller.start()
        if not result.ok:
            raise StepFailed(f"the server did not start: {result.line()}{_cause(ctx)}")
    if not wait_until_running(
        ctx.controller, ctx.plan.server_dir, ctx.options.start_timeout_s, ctx.cancel
    ):
        check_cancel(ctx.cancel)  # "cancelled", not "did not start"
        raise StepFailed(
            f"the server is not running {ctx.options.start_timeout_s:g} s after the start"
            + _cause(ctx)
        )
    on_new = running_on(ctx.plan.target, data_dir, managed_dir, old_dirs)
    if not on_new.ok:
        raise StepFailed(
            f"the server runs, but not on the new location: {on_new.reason}{_cause(ctx)}"
        )
    # A server that cannot use its repository may come up and die a moment later.
    settle = ctx.options.start_settle_s
    if settle > 0 and not ctx.cancel.wait(settle):
        # Its processes, not the status command: cheaper, and what the check is about.
        if ctx.plan.server_dir and not find_server_processes(ctx.plan.server_dir):
            raise StepFailed(f"the server stopped again within {settle:g} s of starting")
        on_new = running_on(ctx.plan.target, data_dir, managed_dir, old_dirs)
        if not on_new.ok:
            raise StepFailed(
                f"the server stopped using the new location: {on_new.reason}{_cause(ctx)}"
            )
    summary = on_new.reason
    if ctx.plan.what == "data":
        line = find_moved_line(log, offset, ctx.plan.target)
        if line:
            ctx.note(Severity.INFO, "relocation.server_moved_line",
                     f"OMERO noticed the move and logged: {line}", log)  # fmt: skip
            summary += "; Blitz-0.log says 'Data directory moved'"
        else:
            ctx.note(Severity.INFO, "relocation.no_moved_line",
                     "Blitz-0.log has no 'Data directory moved' line yet; OMERO logs it when "
                     "it first registers the moved repository", log)  # fmt: skip
    return summary
