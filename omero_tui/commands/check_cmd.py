"""``omero-tui check``: every check headless, for people and for monitoring.

Exit codes follow the Nagios/Icinga convention (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN); ``--prometheus FILE`` also writes a node-exporter textfile.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from omero_tui.commands.context import load_settings, locate, state_dir
from omero_tui.commands.errors import CliError
from omero_tui.commands.fit import fit
from omero_tui.core.findings import Severity, counted
from omero_tui.core.health.cache import save_health
from omero_tui.core.health.check import HealthProgress, run_health_check
from omero_tui.core.health.model import HealthReport
from omero_tui.core.json_output import hide_secrets
from omero_tui.core.usage.format import stamp


def run_check(args: argparse.Namespace) -> int:
    if args.quick and args.cached:
        raise CliError("--quick rescans and --cached does not scan at all: choose one")
    settings = load_settings(args)
    # The deployment notes are the Layout area's: it adds them itself, in the child
    # that checks it while this process scans.
    location = locate(args, deployment=False)
    mode = "cached" if args.cached else "quick" if args.quick else "full"
    state = state_dir(location)  # the console's, so each sees the other's scans and journals
    show = _progress_line if sys.stderr.isatty() else None
    try:
        # The usage service is made in there, after the other areas' child is forked:
        # the scan's modules load while that child checks.
        report = run_health_check(
            location,
            settings=settings,
            usage_mode=mode,
            probe=args.probe,
            state_dir=state,
            progress=show,
            aside=True,
            deployment_notes=True,
        )
    finally:
        if show is not None:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    # An unwritable state dir costs the console's overview its head start, nothing more.
    with contextlib.suppress(OSError):
        save_health(report, state)
    if args.prometheus:
        from omero_tui.core.health.prometheus import write_textfile

        try:
            write_textfile(report, Path(args.prometheus))
        except OSError as err:
            raise CliError(f"cannot write {args.prometheus}: {err}") from err
    text = json.dumps(hide_secrets(report.to_json()), indent=2) if args.json else None
    print(text or fit(render_text(report)))
    return report.severity.exit_code


def _progress_line(progress: HealthProgress) -> None:
    what = progress.area or "done"
    detail = f": {progress.detail}" if progress.detail else ""
    print(
        f"\rchecking {progress.done + 1 if progress.area else progress.done}/{progress.total} "
        f"{what}{detail}\033[K",
        end="",
        file=sys.stderr,
        flush=True,
    )


def render_text(report: HealthReport) -> str:
    where = f"Repository {report.data_dir}"
    if report.server_dir:
        where += f"  (server {report.server_dir})"
    lines = [where, f"Checked    {stamp(report.checked_at)}", ""]
    width = max(len(a.title) for a in report.areas)
    for area in report.areas:
        note = f"  [{area.note}]" if area.note else ""
        label = area.severity.label.upper()
        lines.append(f"{label:<9}{area.title:<{width}}  {area.headline}{note}")
    alarms = sorted(
        (f for f in report.findings if f.severity.rank > Severity.INFO.rank),
        key=lambda f: -f.severity.rank,
    )
    if alarms:
        lines.append("")
        for finding in alarms:
            where = f" ({finding.path})" if finding.path else ""
            lines.append(
                f"{finding.severity.label.upper()}: [{finding.area}] {finding.message}{where}"
            )
    lines.append("")
    overall = report.severity
    if overall in (Severity.OK, Severity.INFO):
        lines.append("Overall: OK: a clean bill of health.")
    else:
        lines.append(f"Overall: {overall.label.upper()}: {counted(len(alarms), 'problem')} above.")
    return "\n".join(lines)
