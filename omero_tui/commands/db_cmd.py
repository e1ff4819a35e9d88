"""``omero-tui db``: the Database panel headless, with monitoring exit codes.

Exit 0 OK, 1 WARNING (orphans, a recorded root that differs), 2 CRITICAL (files the
database knows that are missing or changed), 3 UNKNOWN (no database, cannot connect,
not OMERO's schema): a refusal is never read as a mere WARNING.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from omero_tui.commands.context import locate
from omero_tui.commands.errors import CliError
from omero_tui.core.database.check import (
    DatabaseUnavailable,
    DbCancelled,
    check_database,
    usage_only,
)
from omero_tui.core.database.model import DbProgress, DbReport
from omero_tui.core.findings import Severity, counted
from omero_tui.core.json_output import hide_secrets, hide_url_passwords, to_jsonable
from omero_tui.core.usage.format import human_bytes


def run_db(args: argparse.Namespace) -> int:
    try:
        location = locate(args)
    except CliError as err:
        return _unknown(str(err), json_output=args.json)
    show = _progress_line if sys.stderr.isatty() else None
    usage_alone = args.by_user and not (args.orphans or args.missing or args.verify_hash)
    try:
        if usage_alone:
            report = usage_only(location)
        else:
            report = check_database(location, verify_hash=args.verify_hash, progress=show)
    except DatabaseUnavailable as err:
        return _unknown(str(err), json_output=args.json)
    except DbCancelled:
        return _unknown("cancelled", json_output=args.json)
    finally:
        if show is not None:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if args.json:
        data = hide_secrets(report_json(report, usage_alone))
        _write(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _write(render_text(report, args, usage_alone))
    return Severity.OK.exit_code if usage_alone else report.verdict.exit_code


def report_json(report: DbReport, usage_alone: bool = False) -> dict[str, Any]:
    data = to_jsonable(report)
    verdict = Severity.OK if usage_alone else report.verdict
    data["verdict"] = verdict.label
    data["exit_code"] = verdict.exit_code
    data["totals"] = {
        name: to_jsonable(report.total(name))
        for name in ("missing", "size_differs", "orphans", "matched", "kept_on_purpose")
    }
    return data


def _unknown(reason: str, *, json_output: bool) -> int:
    reason = hide_url_passwords(reason)
    print(f"omero-tui: {reason}", file=sys.stderr)
    if json_output:
        _write(json.dumps({"verdict": "unknown", "exit_code": 3, "error": reason}, indent=2))
    return Severity.UNKNOWN.exit_code


def _write(text: str) -> None:
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.flush()
    sys.stdout.buffer.write((text + "\n").encode(encoding, "backslashreplace"))
    sys.stdout.flush()


def _progress_line(p: DbProgress) -> None:
    part = f"{p.phase}: {p.rows:,}/{p.rows_total:,} rows, {p.entries:,} entries"
    if p.hash_total_bytes:
        eta = f", ETA {p.eta_seconds:,.0f} s" if p.eta_seconds is not None else ""
        part += f", hashed {human_bytes(p.hashed_bytes)}/{human_bytes(p.hash_total_bytes)}{eta}"
    print(f"\rchecking {part}\033[K", end="", file=sys.stderr, flush=True)


def render_text(report: DbReport, args: argparse.Namespace, usage_alone: bool = False) -> str:
    conn = report.connection
    lines = [
        f"Database    {conn['user'] or '(default user)'}@{conn['host'] or 'local socket'}"
        f"/{conn['name'] or '(default)'} (PostgreSQL {report.server_version}, read-only)",
        f"Repository  {report.data_dir}",
    ]
    if not usage_alone:
        lines.append(f"Checked in  {report.elapsed_seconds:.2f} s")
        lines.append("")
        lines.append("Repositories the database records:")
        for repo in report.repositories:
            mark = {True: "matches config", False: f"config says {repo.configured}", None: ""}
            lines.append(f"  {repo.role:<18} {repo.root}  {mark[repo.matches]}")
        lines.append("")
        lines.append(
            f"{'area':<18} {'rows':>9} {'on disk':>9} {'missing':>9} "
            f"{'size diff':>9} {'orphans':>9} {'orphan bytes':>12}"
        )
        for area in report.areas:
            note = f"  ({area.note})" if area.note else ""
            lines.append(
                f"{area.area:<18} {area.db_rows:>9,} {area.disk_files:>9,} "
                f"{area.missing.count:>9,} {area.size_differs.count:>9,} "
                f"{area.orphans.count:>9,} {human_bytes(area.orphans.bytes):>12}{note}"
            )
        want_all = not (args.orphans or args.missing or args.by_user)
        if args.missing or want_all:
            lines += _issues(
                "Missing or changed",
                report.missing + report.size_differs + report.hash_differs,
                limit=None if args.missing else 10,
            )
            if report.by_owner:
                lines.append("")
                lines.append("Missing per owner and group:")
                for t in report.by_owner:
                    lines.append(
                        f"  {t.owner} ({t.group}): {t.missing.count:,} missing "
                        f"({human_bytes(t.missing.bytes)}), {t.size_differs.count:,} "
                        f"size differs; e.g. {', '.join(t.examples[:2])}"
                    )
        if args.orphans or want_all:
            lines += _issues(
                "Orphans (no row knows them)", report.orphans, limit=None if args.orphans else 10
            )
        if report.verify_hash:
            lines.append("")
            lines.append(
                f"Checksums verified: {counted(report.hash_checked.count, 'file')}, "
                f"{human_bytes(report.hash_checked.bytes)}; "
                f"{report.hash_differs_total.count:,} "
                f"{'differs' if report.hash_differs_total.count == 1 else 'differ'}"
            )
    if args.by_user or usage_alone or not (args.orphans or args.missing):
        lines.append("")
        lines.append("Usage the database records, per user and group:")
        for u in report.usage:
            lines.append(
                f"  {u.owner:<16} {u.group:<16} {u.files:>9,} files {human_bytes(u.bytes):>10}"
            )
        if not usage_alone:
            disk = sum(a.disk_bytes for a in report.areas)
            db = sum(a.db_bytes for a in report.areas)
            kept = report.total("kept_on_purpose").bytes
            orphans = report.total("orphans").bytes
            lines.append(
                f"  On disk {human_bytes(disk)} in the four areas; rows record "
                f"{human_bytes(db)}. The difference: Pixels and Thumbnails have no size in "
                f"the database, orphans {human_bytes(orphans)}, pyramids and locks "
                f"{human_bytes(kept)}."
            )
    if not usage_alone:
        lines.append("")
        for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
            where = f" ({finding.path})" if finding.path else ""
            lines.append(f"{finding.severity.label.upper()}: {finding.message}{where}")
        lines.append(f"Overall: {report.verdict.label.upper()}")
    return "\n".join(lines)


def _issues(title: str, issues: list, *, limit: int | None) -> list[str]:
    if not issues:
        return []
    out = ["", f"{title}:"]
    for issue in issues[: limit or len(issues)]:
        sizes = ""
        if issue.kind == "size_differs":
            sizes = f" recorded {issue.expected_size:,} B, on disk {issue.disk_size:,} B"
        elif issue.expected_size is not None:
            sizes = f" {human_bytes(issue.expected_size)}"
        elif issue.disk_size is not None:
            sizes = f" {human_bytes(issue.disk_size)}"
        who = f" [{issue.owner}/{issue.group}]" if issue.owner else ""
        detail = f" ({issue.detail})" if issue.detail else ""
        out.append(f"  {issue.kind:<12} {issue.area}/{issue.path}{sizes}{who}{detail}")
    if limit and len(issues) > limit:
        out.append(f"  ... {len(issues) - limit:,} more (see --json or the flag for this list)")
    return out
