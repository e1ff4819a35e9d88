"""The Permissions panel's words and marks: pure functions from reports to Rich text."""

from __future__ import annotations

from rich.text import Text

from omero_tui.core.findings import Severity, counted, worst
from omero_tui.core.perms.apply import ApplyResult
from omero_tui.core.perms.check import DirAccess, PermsReport
from omero_tui.core.perms.fix import FixPlan
from omero_tui.core.perms.undo import UndoResult
from omero_tui.tui.widgets.presentation import finding_text, severity_text

YES, NO = ("✓", "green"), ("✗", "bold red")


def ticks(row: DirAccess) -> list[Text]:
    """✓/✗ for read, write, enter; rights a directory above the repository needs not, dim."""
    cells = []
    for needed, ok in (
        (row.kind == "repository", row.read),
        (row.kind == "repository", row.write),
        (True, row.traverse),
    ):
        mark, style = YES if ok else NO
        cells.append(Text(mark, style=style if needed and row.present else "dim"))
    return cells


def fit_middle(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def fit_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def status_line(report: PermsReport) -> Text:
    text = Text("Permissions  ")
    overall = worst(report.findings)
    text.append_text(severity_text(overall))
    alarms = [f for f in report.findings if f.severity.rank > Severity.INFO.rank]
    text.append(f"  {report.verdict}", style="green" if not alarms else "")
    if len(alarms) > 1:
        text.append(f" (+{len(alarms) - 1} more below)", style="dim")
    return text


def user_text(report: PermsReport, chosen: str | None) -> Text:
    user = report.user
    text = Text("Server user  ", style="bold")
    text.append(user.name, style="bold")
    groups = ", ".join(user.group_names) or "unknown"
    text.append(f" (uid {user.uid}, groups {groups})")
    text.append(f"  {user.how}", style="dim")
    if chosen:
        text.append("  (u: back to the server's own user)", style="dim italic")
    return text


def detail_text(row: DirAccess, report: PermsReport) -> Text:
    text = Text(row.path, style="bold")
    if not row.present:
        text.append(f"  {row.error or 'absent'}", style="yellow")
        return text
    text.append(f"  {row.owner}:{row.group} {row.mode}")
    values = (row.read, row.write, row.traverse)
    rights = "".join(c if ok else "-" for c, ok in zip("rwx", values, strict=True))
    text.append(f"\n{report.user.name} gets {rights} here, decided by: {row.via}")
    if row.blocked_by:
        text.append(f"; blocked: cannot enter {row.blocked_by}", style="red")
    if row.acl:
        text.append(f"\nACL: {', '.join(row.acl)}", style="dim")
    return text


DEEP_SHOWN = 10  # the panel lists this many; `omero-tui perms --deep --json` has them all


def deep_text(report: PermsReport) -> Text:
    deep = report.deep
    if deep is None:
        return Text(
            "Deep check: not run (d walks the repository, D the highlighted directory).",
            style="dim",
        )
    where = ", ".join(deep.roots)
    state = " (cancelled)" if deep.cancelled else ""
    text = Text(f"Deep check of {where}{state}: {counted(deep.scanned, 'entry')}, ", style="bold")
    if not deep.problems_total:
        text.append(f"all usable by {report.user.name}.", style="green")
        return text
    text.append(f"{deep.problems_total} {report.user.name} cannot use:", style="bold red")
    for problem in deep.problems[:DEEP_SHOWN]:
        has = "".join(
            c if ok else "-"
            for c, ok in zip("rwx", (problem.read, problem.write, problem.traverse), strict=True)
        )
        kind = "dir " if problem.is_dir else "file"
        link = f" -> {problem.link_target}" if problem.link_target else ""
        text.append(f"\n  {kind} {has} {problem.mode_bits:04o}  {problem.path}{link}")
    if deep.problems_total > DEEP_SHOWN:
        text.append(f"\n  … and {deep.problems_total - DEEP_SHOWN:,} more", style="dim")
    return text


def plan_text(plan: FixPlan, report: PermsReport) -> Text:
    if not plan.steps and not plan.manual:
        why = "nothing to fix" if worst(report.findings) is Severity.OK else "no change can help"
        return Text(f"Fix plan: {why}.", style="green" if why == "nothing to fix" else "")
    text = Text("Fix plan (dry run; f applies it after you confirm; y copies it):", style="bold")
    for step in plan.steps:
        text.append(f"\n  {step.command}")
    for note in plan.manual:
        text.append(f"\n  by hand: {note}", style="yellow")
    if plan.cannot_apply:
        text.append(f"\n  This console cannot apply it: {plan.cannot_apply}.", style="yellow")
    return text


def findings_text(report: PermsReport) -> Text:
    text = Text()
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        if text:
            text.append("\n")
        text.append_text(finding_text(finding))
    return text


def applied_summary(result: ApplyResult) -> str:
    words = f"Fix applied: {counted(result.changed, 'entry')} changed"
    if result.cancelled:
        words = f"Fix cancelled part way: {counted(result.changed, 'entry')} changed"
    if result.failed_total:
        words += f", {result.failed_total:,} failed ({result.failed[0][0]}: {result.failed[0][1]})"
    return words + "; z undoes it."


def undo_summary(result: UndoResult) -> str:
    words = f"Undo: {counted(result.restored, 'entry')} restored"
    if result.failed_total:
        words += f", {result.failed_total:,} failed"
    if result.cancelled:
        words += " (cancelled part way; undo again to finish)"
    return words + "."
