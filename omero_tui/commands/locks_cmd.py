"""``omero-tui locks``: the Lock health panel as text or JSON, with monitoring exit codes."""

from __future__ import annotations

import argparse
import sys

from omero_tui.commands.context import load_settings, locate
from omero_tui.commands.fit import fit, level_word
from omero_tui.core.findings import Severity, worst
from omero_tui.core.json_output import dumps
from omero_tui.core.locks.files import removable
from omero_tui.core.locks.health import (
    DirectoryLocks,
    LockHealthReport,
    inspect_locks,
    probe_report,
    remove_stale_locks,
)
from omero_tui.core.locks.probe_model import KINDS, ProbeProgress
from omero_tui.core.server.for_location import check_server_stopped


def run_locks(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    location = locate(args)
    report = inspect_locks(location, server_user=settings.server_user)
    refused = None
    if getattr(args, "remove_stale", False):
        removal = remove_stale_locks(report, lambda: check_server_stopped(location, settings))
        for path in removal.removed:
            print(f"removed stale lock file {path}", file=sys.stderr)
        for path, why in removal.kept:
            print(f"kept {path}: {why}", file=sys.stderr)
        if not removal.refused:  # a refusal is said once, as the last line
            print(removal.summary(), file=sys.stderr)
        refused = removal.refused
        if removal.removed:  # show what is left, not what was there
            report = inspect_locks(location, server_user=settings.server_user)
    if args.probe:
        # Progress goes to a terminal only: stdout stays clean for --json and pipes.
        show = _progress_line if sys.stderr.isatty() else None
        try:
            report = probe_report(report, show)
        finally:
            if show is not None:
                print(file=sys.stderr)
    print(dumps(report) if args.json else fit(render_text(report)))
    if refused:
        print(f"omero-tui: stale lock files not removed: {refused}", file=sys.stderr)
        return max(1, worst(report.findings).exit_code)
    return worst(report.findings).exit_code


def _progress_line(progress: ProbeProgress) -> None:
    where = progress.path or "done"
    print(
        f"\rprobing {progress.done}/{progress.total} {where} ({progress.step})\033[K",
        end="",
        file=sys.stderr,
        flush=True,
    )


def render_text(report: LockHealthReport) -> str:
    loc = report.location
    lines = [
        f"Data dir     {loc.data_dir.value}  ({loc.data_dir.how})",
        f"Managed dir  {loc.managed_dir.value}  ({loc.managed_dir.how})",
        "",
    ]
    rows = [_row(d) for d in report.directories]
    header = ("Directory", "Filesystem", "Verdict", *KINDS, "write")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not report.probed:
        lines.append("(lock probe not run: add --probe to test flock and fcntl in each directory)")
    lines.append("")
    lines += _lock_file_lines(report)
    lines += _log_lines(report)
    lines.append("")
    alarms = [f for f in report.findings if f.severity.rank > Severity.INFO.rank]
    if not alarms:
        lines.append("Locks OK: no problems found.")
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        where = f" ({finding.path})" if finding.path else ""
        lines.append(f"{finding.severity.label.upper()}: {finding.message}{where}")
    lines.append(f"Overall: {level_word(worst(report.findings))}")
    return "\n".join(lines)


def _row(row: DirectoryLocks) -> tuple[str, ...]:
    fs = row.fs.label if row.mount is not None else "-"
    cells = [row.name, fs, row.verdict_text]
    probe = row.probe
    for kind in KINDS:
        result = probe.kind(kind) if probe is not None else None
        if result is None:
            cells.append("-" if probe is None else row.probe_verdict)
        elif result.passed:
            cells.append(f"ok {_ms(result.handoff_ms)}")
        else:
            failure = result.failure
            cells.append(f"FAIL {failure.errno or ''}".strip() if failure else "FAIL")
    if probe is None or probe.write is None:
        cells.append("-")
    else:
        cells.append(f"ok {_ms(probe.write.ms)}" if probe.write.passed else "FAIL")
    return tuple(cells)


def _ms(ms: float | None) -> str:
    return "" if ms is None else f"{ms:.3g} ms"


def _lock_file_lines(report: LockHealthReport) -> list[str]:
    files = report.lock_files.files
    if not files:
        return [f"Lock files: none found ({report.lock_files.method})"]
    lines = [f"Lock files ({report.lock_files.method}):"]
    for state in files:
        who = ", ".join(
            f"pid {h.pid} {h.process} {h.how}".replace("  ", " ") for h in state.holders
        )
        lines.append(f"  {state.state:<6} {state.path}" + (f"  [{who}]" if who else ""))
    stale = removable(files)
    if stale:
        lines.append(
            f"  {len(stale)} stale: --remove-stale removes them once the server is verified stopped"
        )
    return lines


def _log_lines(report: LockHealthReport) -> list[str]:
    logs = report.logs
    if logs.error:
        return [f"Server logs: not scanned ({logs.error})"]
    lines = [f"Server logs ({logs.log_dir}, last {logs.tail_bytes // 1024} KiB of each):"]
    for log in logs.logs:
        if log.error:
            lines.append(f"  {log.name}: unreadable ({log.error})")
        elif not log.hits:
            lines.append(f"  {log.name}: no symptoms")
        else:
            counts = ", ".join(f"{h.label} x{h.count}" for h in log.hits)
            lines.append(f"  {log.name}: {counts}; last at {log.last_time or '?'}")
            lines.append(f"    {log.last_line}")
    return lines
