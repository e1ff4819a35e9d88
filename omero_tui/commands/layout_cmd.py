"""``omero-tui layout``: the Layout panel as text or JSON, with monitoring exit codes."""

from __future__ import annotations

import argparse

from omero_tui.commands.context import locate
from omero_tui.core.findings import Severity, worst
from omero_tui.core.json_output import dumps
from omero_tui.core.layout.config_sources import source_line
from omero_tui.core.layout.inspection import LayoutReport, inspect_layout


def run_layout(args: argparse.Namespace) -> int:
    report = inspect_layout(locate(args))
    print(dumps(report) if args.json else render_text(report))
    return worst(report.findings).exit_code


def render_text(report: LayoutReport) -> str:
    loc = report.location
    lines = [
        f"Server dir   {loc.server_dir.value or '-'}  ({loc.server_dir.how})",
        f"Profile      {loc.profile.value or '-'}  ({loc.profile.how})",
        f"Data dir     {loc.data_dir.value}  ({loc.data_dir.how})",
        f"Managed dir  {loc.managed_dir.value}  ({loc.managed_dir.how})",
    ]
    if loc.config_error:
        lines.append(f"Config       ERROR: {loc.config_error}")
    if report.config_sources:
        lines += ["", "Config sources (applied at every start, they win over config.xml)"]
        lines += [f"  {source_line(s)}" for s in report.config_sources]
    lines.append("")
    rows = [report.data_dir, *report.subdirs]
    if report.managed_outside:
        rows.append(report.managed_dir)
    width = max(len(r.name) for r in rows)
    for row in rows:
        target = f" -> {row.target}" if row.target else ""
        lines.append(f"{row.name:<{width}}  {row.state:<15} {row.path}{target}")
    lines.append("")
    for identity in report.identities:
        if not identity.entries:
            lines.append(f"identity ({identity.role}): none found")
        for entry in identity.entries:
            repo = entry.repo_uuid or f"unreadable ({entry.error})"
            lines.append(f"identity ({identity.role}): repo {repo}, database {entry.db_uuid}")
    lines.append("")
    overall = worst(report.findings)
    if not [f for f in report.findings if f.severity.rank > Severity.INFO.rank]:
        lines.append("Layout OK: no problems found.")
    for finding in sorted(report.findings, key=lambda f: -f.severity.rank):
        where = f" ({finding.path})" if finding.path else ""
        lines.append(f"{finding.severity.label.upper()}: {finding.message}{where}")
    lines.append(f"Overall: {overall.label.upper()}")
    return "\n".join(lines)
