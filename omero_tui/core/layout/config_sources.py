"""The Layout's view of the configuration sources that win over config.xml.

Which file or variable sets which repository path at the next start, and a warning
when that start would change a path config.xml names now (the server would come up
somewhere else than the Layout shows).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from omero_tui.core.config.sources import ConfigSource, SourceScan, scan_sources, sources_of
from omero_tui.core.config.systemctl_show import AskedEarly
from omero_tui.core.config.systemd_unit import DEFAULT_UNIT, unit_file_name
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.server.processes import server_environments


def look_at_sources(
    location: ServerLocation, env: Mapping[str, str] | None = None
) -> tuple[tuple[ConfigSource, ...], list[Finding]]:
    """(every source found, the findings about them). Never raises."""
    server_dir = location.server_dir.value
    if location.demo:  # the admin's own CONFIG_* variables mean nothing for the sandbox
        env = {}
    try:
        scan = scan_sources(
            server_dir,
            env=os.environ if env is None else env,
            process_environments=server_environments(server_dir),
            ask_systemd=not location.demo,  # no systemd unit runs a demo sandbox
        )
    except OSError:
        return (), []
    return tuple(sources_of(scan)), source_findings(location, scan)


def early_systemd_question(location: ServerLocation) -> AskedEarly:
    """The question to systemd that ``look_at_sources`` asks, started now: asked at the
    start of the Layout's look, its answer is ready when the look reaches the sources."""
    return AskedEarly(None if location.demo else unit_file_name(DEFAULT_UNIT))


def source_findings(location: ServerLocation, scan: SourceScan) -> list[Finding]:
    if not location.config_path or location.config_error:
        return []
    # Here, not at the top: as in discovery, a repository named alone reads no config.xml.
    from omero_tui.core.config.next_start import reverted_keys
    from omero_tui.core.config.xml_file import ConfigError, read_config

    try:
        doc = read_config(location.config_path)  # type: ignore[arg-type]
    except ConfigError:
        return []
    profile = location.profile.value or doc.stored_profile
    findings = []
    for item in reverted_keys(scan, doc.properties(profile), profile):
        source = item.source
        if source is None or item.key != source.key and source.key != "*":
            continue  # a default that follows the data dir: said once, for the data dir
        template = f" ({source.tool} template)" if source.is_template else ""
        findings.append(
            Finding(
                "layout",
                Severity.WARNING,
                "layout.config_source_differs",
                f"the next start sets {item.key} to {item.restored} "
                f"({source.describe()}{template}), not {item.intended} as config.xml "
                "says now: the server would come up on that path",
                source.where,
            )
        )
    return findings


def source_line(source: ConfigSource) -> str:
    """One line for the text output and the panel: where, what, and whether a tool owns it."""
    if source.kind == "systemd unit" and source.key == "ExecStartPre":
        what = source.how
    elif source.key == "*":
        what = f"`{source.text}` (clears every key of profile {source.profile})"
    elif source.value is None:
        what = f"deletes {source.key}"
    else:
        what = f"{source.key} = {source.value}"
    owner = ""
    if source.is_template:
        owner = f"  [{source.tool or 'tool'} template, rewritten at every run]"
    return f"{source.describe()}  {what}{owner}"
