"""``omero-tui perms``: the Permissions panel headless, its fix and its undo.

Exit codes follow monitoring: 0 all well, 1 warning, 2 critical, 3 unknown; after an
applied fix the code is the re-check's. Progress goes to stderr, only on a terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from omero_tui.commands.context import find, load_settings, locate, state_dir
from omero_tui.commands.errors import CliError
from omero_tui.commands.fit import fit, level_word
from omero_tui.core.findings import Severity, counted, worst
from omero_tui.core.json_output import dumps, to_jsonable
from omero_tui.core.perms.apply import ApplyRefused, ApplyResult, apply_fix
from omero_tui.core.perms.check import PermsReport, inspect_permissions
from omero_tui.core.perms.findings import SHORT
from omero_tui.core.perms.fix import FixPlan, plan_fix
from omero_tui.core.perms.server_user import UnknownUserError
from omero_tui.core.perms.undo import UndoError, UndoResult, undo_last


def run_perms(args: argparse.Namespace) -> int:
    if args.undo:
        return _undo(args)
    report = _inspect(args)
    if not args.fix:
        print(dumps(report) if args.json else fit(render_report(report)))
        return worst(report.findings).exit_code
    plan = plan_fix(report)
    applied: ApplyResult | None = None
    after: PermsReport | None = None
    if plan.steps and _confirmed(args, report, plan):
        if plan.cannot_apply:
            raise CliError(f"cannot apply the fix: {plan.cannot_apply}")
        location = report.location
        header = {"server_dir": location.server_dir.value, "data_dir": location.data_dir.value}
        try:
            applied = apply_fix(
                plan,
                state_dir=state_dir(location),
                progress=_progress("fixing"),
                header=header,
            )
        except ApplyRefused as err:
            raise CliError(str(err)) from err
        after = _inspect(args)
    if args.json:
        out: dict[str, Any] = {
            "report": to_jsonable(report),
            "fix_plan": to_jsonable(plan),
            "applied": to_jsonable(applied),
            "after": to_jsonable(after),
        }
        print(dumps(out))
    else:
        if after is None:
            print(fit(render_report(report)))
            print()
            print(fit(render_plan(plan, dry_run=True)))
        else:
            print(fit(render_applied(applied, plan)))
            print()
            print(fit(render_report(after)))
    return worst((after or report).findings).exit_code


def _inspect(args: argparse.Namespace) -> PermsReport:
    settings = load_settings(args)
    try:
        return inspect_permissions(
            locate(args),
            user=args.user,
            settings_user=settings.server_user,
            settings_path=str(settings.path) if settings.exists else None,
            deep=args.deep,
            progress=_progress("deep check") if args.deep else None,
        )
    except UnknownUserError as err:
        raise CliError(str(err)) from err


def _confirmed(args: argparse.Namespace, report: PermsReport, plan: FixPlan) -> bool:
    if args.yes:
        return True
    if args.json or not sys.stdin.isatty():
        return False  # a dry run: nothing is changed without --yes or a typed "y"
    print(fit(render_report(report)))
    print()
    print(fit(render_plan(plan, dry_run=False)))
    try:
        answer = input(f"Apply these {len(plan.steps)} changes (an undo record is kept)? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _undo(args: argparse.Namespace) -> int:
    try:
        result = undo_last(state_dir(find(args)), progress=_progress("undoing"))
    except UndoError as err:
        raise CliError(str(err)) from err
    print(dumps(result) if args.json else fit(render_undo(result)))
    if result.failed_total or result.cancelled:
        return Severity.CRITICAL.exit_code
    return Severity.OK.exit_code


def _progress(what: str):  # noqa: ANN202 - a callback for any progress record
    if not sys.stderr.isatty():
        return None

    def show(progress: object) -> None:
        done = getattr(progress, "scanned", None) or getattr(progress, "done", 0)
        current = str(getattr(progress, "current", ""))[-50:]
        sys.stderr.write(f"\r{what}: {done} entries  {current:<50}")
        sys.stderr.flush()

    return show


def _rwx(read: bool, write: bool, traverse: bool) -> str:
    return "".join(c if ok else "-" for c, ok in (("r", read), ("w", write), ("x", traverse)))


def render_report(report: PermsReport) -> str:
    user = report.user
    groups = ", ".join(user.group_names) or "unknown"
    lines = [
        f"Server user  {user.name} (uid {user.uid}; groups {groups})",
        f"             {user.how}",
    ]
    for proc in report.processes:
        lines.append(f"Process      {proc.role} pid {proc.pid} as {proc.username or proc.uid}")
    lines.append(f"Data dir     {report.location.data_dir.value}")
    lines.append("")
    width = max([9, *(len(r.label) for r in report.rows)])
    owner_w = max([5, *(len(r.owner) for r in report.rows)])
    group_w = max([5, *(len(r.group) for r in report.rows)])
    lines.append(
        f"{'Directory':<{width}}  {'Owner':<{owner_w}}  {'Group':<{group_w}}  "
        f"{'Mode':<10}  Has  Problems"
    )
    for row in report.rows:
        has = _rwx(row.read, row.write, row.traverse)
        if row.kind == "ancestor":
            has = "x" if row.traverse else "-"
        words = dict.fromkeys(SHORT.get(code, code) for code in row.problems)
        problems = ", ".join(words) or ("ok" if row.present else "absent")
        lines.append(
            f"{row.label:<{width}}  {row.owner:<{owner_w}}  {row.group:<{group_w}}  "
            f"{row.mode:<10}  {has:<3}  {problems}"
        )
    if report.deep is not None:
        deep = report.deep
        lines.append("")
        lines.append(
            f"Deep check: {counted(deep.scanned, 'entry')} in {deep.seconds:.1f} s, "
            f"{deep.problems_total:,} the server user cannot use"
            + (" (cancelled)" if deep.cancelled else "")
        )
        for problem in deep.problems:
            kind = "dir " if problem.is_dir else "file"
            has = _rwx(problem.read, problem.write, problem.traverse)
            link = f" -> {problem.link_target}" if problem.link_target else ""
            lines.append(
                f"  {kind} {has} {problem.mode_bits:04o} uid {problem.owner_uid}  {problem.path}"
                + link
            )
        if deep.problems_total > len(deep.problems):
            lines.append(f"  … and {deep.problems_total - len(deep.problems):,} more")
    lines.append("")
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        where = f" ({finding.path})" if finding.path else ""
        lines.append(f"{finding.severity.label.upper()}: {finding.message}{where}")
    lines.append(f"Overall: {level_word(worst(report.findings))}")
    return "\n".join(lines)


def render_plan(plan: FixPlan, *, dry_run: bool) -> str:
    if not plan.steps and not plan.manual:
        return "Fix plan: nothing to change."
    title = "Fix plan (dry run; apply with --fix --yes):" if dry_run else "Fix plan:"
    lines = [title]
    for step in plan.steps:
        # The command alone on its line, so it can be copied as it is.
        lines.append(f"  # {step.why}")
        lines.append(f"  {step.command}")
    for note in plan.manual:
        lines.append(f"  {note}")
    if plan.cannot_apply:
        lines.append(f"This console cannot apply it: {plan.cannot_apply}.")
    return "\n".join(lines)


def render_applied(result: ApplyResult | None, plan: FixPlan) -> str:
    if result is None:
        return ""
    lines = [
        f"Applied {counted(len(plan.steps), 'step')}: {counted(result.changed, 'entry')} changed"
    ]
    if result.cancelled:
        lines.append("Cancelled part way: what was changed is in the undo record.")
    for path, error in result.failed:
        lines.append(f"  failed: {path}: {error}")
    if result.failed_total > len(result.failed):
        lines.append(f"  … and {result.failed_total - len(result.failed):,} more failures")
    lines.append(f"Undo record: {result.record} (omero-tui perms --undo puts it all back)")
    return "\n".join(lines)


def render_undo(result: UndoResult) -> str:
    lines = [
        f"Undo of {result.record}: {counted(result.restored, 'entry')} restored, "
        f"{result.unchanged:,} already as recorded, {result.missing:,} gone since"
    ]
    for path, error in result.failed:
        lines.append(f"  failed: {path}: {error}")
    if result.cancelled:
        lines.append("Cancelled part way: run --undo again to finish.")
    return "\n".join(lines)
