"""The controller and the user of one located server, as the settings ask for them.

Shared by the relocation (which stops and starts the server), Lock health (which may
remove stale locks only from a server proven stopped) and the Overview.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.perms.server_user import ServerUser, UnknownUserError, determine_server_user
from omero_tui.core.record import frozen
from omero_tui.core.server.control import RunAs, ServerController, choose_controller
from omero_tui.core.server.state import prove_stopped
from omero_tui.core.settings import Settings, SettingsError


@frozen
class StopCheck:
    """Whether the server is verified stopped, with the evidence in one line."""

    stopped: bool
    reason: str


def server_user_of(location: ServerLocation, settings: Settings | None) -> ServerUser | None:
    try:
        return determine_server_user(
            location,
            settings_user=settings.server_user if settings else None,
            settings_path=str(settings.path) if settings and settings.exists else None,
        ).user
    except (UnknownUserError, OSError):
        return None


def make_controller(
    settings: Settings | None,
    server_dir: str | None,
    *,
    env: Mapping[str, str] | None = None,
    user: ServerUser | None = None,
) -> ServerController:
    """The controller the settings ask for (or the detected one); ControlError if invalid."""
    run_as = None
    if hasattr(os, "geteuid") and os.geteuid() == 0 and user is not None and user.uid != 0:
        run_as = RunAs(user.name, user.uid, user.gid, user.groups, _home_of(user.uid))
    return choose_controller(
        server_dir,
        control=settings.control if settings else None,
        unit=settings.systemd_unit if settings else None,
        start_command=settings.start_command if settings else None,
        stop_command=settings.stop_command if settings else None,
        env=env,
        run_as=run_as,
    )


def _home_of(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_dir
    except (ImportError, KeyError):
        return "/"


def check_server_stopped(location: ServerLocation, settings: Settings | None = None) -> StopCheck:
    """The relocation's proof of a stopped server: its controller's status, no server
    process alive, and no process with a file open under the repository."""
    server_dir = location.server_dir.value
    if not server_dir:
        return StopCheck(False, "no server dir is known, so the server cannot be verified stopped")
    try:
        if settings is None:
            settings = settings_or_none()
        controller = make_controller(settings, server_dir, user=server_user_of(location, settings))
        dirs = [d for d in (location.data_dir.value, location.managed_dir.value) if d]
        proof = prove_stopped(controller, server_dir, dirs)
    except Exception as err:  # noqa: BLE001 - no proof is a refusal, never a crash
        return StopCheck(False, f"the server state could not be checked: {err}")
    return StopCheck(proof.stopped, proof.reason)


def settings_or_none() -> Settings | None:
    try:
        return Settings.load()
    except SettingsError:
        return None
