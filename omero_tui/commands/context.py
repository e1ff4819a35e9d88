"""Turn command-line options into settings and a located server, the same for every command."""

from __future__ import annotations

import argparse
from pathlib import Path

from omero_tui.commands.errors import CliError
from omero_tui.core.discovery import ServerLocation, discover, no_server_reason
from omero_tui.core.settings import Settings, SettingsError, state_dir_for


def load_settings(args: argparse.Namespace) -> Settings:
    path = getattr(args, "settings", None)
    try:
        return Settings.load(Path(path) if path else None)
    except SettingsError as err:
        raise CliError(str(err)) from err


def locate(
    args: argparse.Namespace, *, demo: bool = False, deployment: bool = True
) -> ServerLocation:
    """The server the options name; a bad --server-dir, or none found, is a refusal.

    ``deployment=False`` leaves out the deployment notes (container, containerised
    lock holder): for a command that shows no notes, they are only a cost."""
    location = find(args, demo=demo, deployment=deployment)
    reason = no_server_reason(location)
    if reason is not None:
        raise CliError(reason)
    return location


def find(
    args: argparse.Namespace, *, demo: bool = False, deployment: bool = True
) -> ServerLocation:
    """The server the options name, as found, even when there is none (the console says so)."""
    # Here, not at the top: the process scan costs a headless command only when it
    # locates a server. With nothing naming the server, its processes are asked, then
    # its loaded systemd unit.
    from omero_tui.core.server.unit_discovery import find_server_from_system

    settings = load_settings(args)
    location = discover(
        server_dir_arg=getattr(args, "server_dir", None),
        data_dir_arg=getattr(args, "data_dir", None),
        settings_server_dir=settings.server_dir,
        settings_path=str(settings.path) if settings.exists else None,
        demo=demo,
        profile_arg=getattr(args, "profile", None),
        running=None if demo else find_server_from_system,
    )
    if demo or not deployment:
        return location
    from omero_tui.core.server.deployment import with_deployment_notes

    return with_deployment_notes(location)


def state_dir(location: ServerLocation) -> Path:
    """Where this server's caches, history and journals live: the console's place too."""
    return state_dir_for(location.server_dir.value)
