"""A stopped server that should be running: a WARNING, not "a clean bill of health".

Two cases say the server should run: its systemd unit is enabled (``systemctl enable``
leaves a link to it in a ``*.wants/`` directory of ``/etc/systemd/system``, so it would
start at boot), or the relocation journal says the relocation stopped a server that was
running and has not started it again (that relocation must be resumed or rolled back).
"""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.config.systemd_unit import rooted_unit_dirs
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.relocation.status import RelocationStatus, latest_relocation
from omero_tui.core.server.container import host_root

OMERO_UNIT = "omero-server.service"


def stopped_server_finding(
    server_dir: str, state_dir: Path | None, root: Path | None = None
) -> Finding | None:
    """Why this stopped server should be running, as a WARNING; None when nothing says so."""
    status = _latest(state_dir)
    # A journal without the fact (older ones) is judged by its steps alone.
    if status is not None and (
        stopped_by_relocation(status)
        or ("server_was_running" not in status.facts and status.server_held() is not None)
    ):
        return Finding(
            "server",
            Severity.WARNING,
            "server.stopped_by_relocation",
            (
                status.server_held()
                or f"The server is not running: relocation {status.id} of {status.source} "
                f"to {status.target} stopped it and has not started it again."
            )
            + " Run `omero-tui relocate --resume` (or `--rollback`).",
            server_dir,
        )
    unit = enabled_unit(server_dir, host_root() if root is None else root)
    if unit is not None:
        return Finding(
            "server",
            Severity.WARNING,
            "server.enabled_but_stopped",
            f"The server is not running, but its systemd unit {unit} is enabled (it is "
            "meant to run): start it, or disable the unit if the stop is planned.",
            server_dir,
        )
    return None


def _latest(state_dir: Path | None) -> RelocationStatus | None:
    try:
        return latest_relocation(state_dir)
    except Exception:  # noqa: BLE001 - an unreadable journal is the relocation area's to say
        return None


def stopped_by_relocation(status: RelocationStatus) -> bool:
    return (
        status.unfinished
        and status.done("stop")
        and not status.done("start")
        and bool(status.facts.get("server_was_running"))
    )


def enabled_unit(server_dir: str, root: Path) -> str | None:
    """The name of an enabled unit that runs this server (``omero-server.service``, or
    one whose file names the server dir), or None."""
    wanted_dirs = []
    for unit_dir in rooted_unit_dirs(root):
        try:
            found = os.scandir(unit_dir)
            wanted_dirs += [e.path for e in found if e.name.endswith(".wants")]
        except OSError:
            continue
    real_dir = os.path.realpath(server_dir)
    for wants in sorted(wanted_dirs):
        try:
            entries = sorted(e for e in os.listdir(wants) if e.endswith(".service"))
        except OSError:
            continue
        for name in entries:
            if name == OMERO_UNIT:  # the role's own unit: no need to read it
                return name
            text = _unit_text(root, os.path.join(wants, name))
            if server_dir in text or real_dir in text:
                return name
    return None


def _unit_text(root: Path, link: str) -> str:
    """The unit file's text; an absolute link target is read inside ``root``."""
    # os.path, not pathlib: a host has dozens of enabled units, each read in every check
    # of a stopped server.
    path = link
    try:
        if os.path.islink(link):
            target = os.readlink(link)
            inside = os.path.join(root, target.lstrip("/"))
            path = inside if os.path.isabs(target) else os.path.join(os.path.dirname(link), target)
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
