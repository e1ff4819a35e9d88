"""``omero-tui usage``: the Disk usage panel as text or JSON, with monitoring exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omero_tui.commands.context import load_settings, locate, state_dir
from omero_tui.commands.errors import CliError
from omero_tui.commands.fit import fit, level_word
from omero_tui.core.findings import Severity
from omero_tui.core.json_output import hide_secrets
from omero_tui.core.usage.format import human_bytes, progress_words, stamp, text_bar
from omero_tui.core.usage.model import UsageProgress
from omero_tui.core.usage.plan import UsageError
from omero_tui.core.usage.report import UsageReport, report_json
from omero_tui.core.usage.service import UsageService, settings_thresholds


def run_usage(args: argparse.Namespace) -> int:
    """Exit 0 OK, 1 WARNING, 2 CRITICAL; 3 UNKNOWN whenever the check could not run
    (a monitoring system must not read a refusal as a mere WARNING)."""
    if args.export and args.quick:
        reason = "--export lists every entry, so it needs a full scan: drop --quick"
        return _unknown(reason, json_output=args.json)
    try:
        location = locate(args, deployment=False)  # a usage report shows no such notes
        settings = load_settings(args)
    except CliError as err:
        return _unknown(str(err), json_output=args.json)
    service = UsageService(state_dir(location), thresholds=lambda: settings_thresholds(settings))
    show = _progress_line if sys.stderr.isatty() else None
    try:
        report = service.scan(
            location,
            quick=args.quick,
            export=Path(args.export) if args.export else None,
            progress=show,
        )
    except (UsageError, OSError) as err:
        reason = str(err) if isinstance(err, UsageError) else _os_error(err, args.export)
        return _unknown(reason, json_output=args.json)
    finally:
        service.close()
        if show is not None:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if args.json:
        _write_json(report_json(report))
    else:
        _write_text(fit(render_text(report, quick_asked=args.quick, export=args.export)))
    return report.verdict.exit_code


def _os_error(err: OSError, export: str | None) -> str:
    what = f"cannot write the export {export}" if export else "the scan failed"
    where = f" ({err.filename})" if err.filename else ""
    return f"{what}: {err.strerror or err}{where}"


def _unknown(reason: str, *, json_output: bool) -> int:
    print(f"omero-tui: {reason}", file=sys.stderr)
    if json_output:  # a monitoring script parses stdout: give it the verdict too
        _write_json({"verdict": Severity.UNKNOWN.label, "exit_code": 3, "error": reason})
    return Severity.UNKNOWN.exit_code


def _write_json(data: object) -> None:
    """JSON is UTF-8 whatever the locale; a file name that is not UTF-8 (a surrogate
    escape) becomes a ``\\udcXX`` escape, which keeps the output valid JSON."""
    text = json.dumps(hide_secrets(data), indent=2, ensure_ascii=False) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


def _write_text(text: str) -> None:
    # Names that are not valid in the terminal's encoding are shown escaped, never a crash.
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.flush()
    sys.stdout.buffer.write((text + "\n").encode(encoding, "backslashreplace"))
    sys.stdout.flush()


def _progress_line(progress: UsageProgress) -> None:
    what = "quick rescan" if progress.quick else "scanning"
    print(
        f"\r{what} {text_bar(progress.fraction)} {progress_words(progress)}\033[K",
        end="",
        file=sys.stderr,
        flush=True,
    )


def render_text(
    report: UsageReport, *, quick_asked: bool = False, export: str | None = None
) -> str:
    scan = report.scan
    kind = "quick rescan" if scan.quick else "full scan"
    lines = [
        f"Repository  {scan.data_dir}",
        f"Measured    {stamp(scan.finished_at)} by a {kind} in {scan.duration:.2f} s",
    ]
    if quick_asked and not scan.quick:
        why = scan.fallback or "there was no earlier scan on record to reuse"
        lines.append(f"            (a quick rescan was asked for, but {why}: this was a full scan)")
    if export:
        lines.append(f"Exported    {export} (ncdu JSON: open it with `ncdu -f {export}`)")
    lines.append("")
    rows = [(u.name + _mark(u.kind), u.totals, u.reused) for u in scan.units]
    rows.append(("repository", scan.totals, False))
    width = max(len(name) for name, _, _ in rows)
    lines.append(
        f"{'':<{width}}  {'on disk':>10} {'apparent':>10} {'files':>12} {'dirs':>9} {'errors':>7}"
    )
    for name, totals, reused in rows:
        lines.append(
            f"{name:<{width}}  {human_bytes(totals.allocated_bytes):>10} "
            f"{human_bytes(totals.apparent_bytes):>10} {totals.files:>12,} {totals.dirs:>9,} "
            f"{totals.errors:>7,}{'  (reused)' if reused else ''}"
        )
    lines.append("")
    for volume, headroom in zip(report.volumes, report.headroom, strict=True):
        lines.append(
            f"Volume      {volume.device or volume.mount_point} ({', '.join(volume.holds)})"
        )
        if volume.total_bytes is not None:
            inodes = f", {volume.free_inodes:,} inodes free" if volume.free_inodes else ""
            lines.append(
                f"            {human_bytes(volume.free_bytes or 0)} free of "
                f"{human_bytes(volume.total_bytes)}{inodes}"
            )
        lines.append(f"            {headroom.severity.label.upper()}: {headroom.words}")
    lines.append("")
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        where = f" ({finding.path})" if finding.path else ""
        lines.append(f"{finding.severity.label.upper()}: {finding.message}{where}")
    if not [f for f in report.findings if f.severity.rank > Severity.INFO.rank]:
        lines.append("Usage OK: no problems found.")
    lines.append(f"Overall: {level_word(report.verdict)} ({report.verdict_words})")
    return "\n".join(lines)


def _mark(kind: str) -> str:
    return {"symlink": " ->", "mount point": " (mount)", "managed dir elsewhere": ""}.get(kind, "")
