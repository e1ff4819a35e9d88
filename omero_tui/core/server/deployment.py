"""What the kind of deployment means for the admin: said on the Layout panel, in
``layout``/``check`` and, as refusals, by the relocation.

Inside the official container the server is the container's main process; from the
host, a repository whose lock a process in another PID namespace holds belongs to a
containerised server. Either way the repository moves with its volume, not by a stop,
a copy and a config.xml rewrite from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.record import replace
from omero_tui.core.server.container import (
    ContainerContext,
    detect_container,
    host_root,
    variables_for,
    volume_advice,
)
from omero_tui.core.server.running import RepositoryHolder, repository_holders


def deployment_notes(
    location: ServerLocation,
    *,
    container: ContainerContext | None = None,
    holders: Sequence[RepositoryHolder] | None = None,
) -> list[Finding]:
    if location.on_windows_paths:
        return []
    container = detect_container() if container is None else container
    notes: list[Finding] = []
    if container.official_image:
        notes.append(
            Finding(
                "layout",
                Severity.INFO,
                "layout.inside_container",
                "This console runs inside the OMERO.server container, where the server is "
                f"the main process ({container.describe()}): stopping the server stops the "
                "container, and config.xml is rebuilt at every start; the repository is "
                "moved by moving its volume.",
            )
        )
    held = container_holders(location, holders)
    if held:
        notes.append(
            Finding(
                "layout",
                Severity.INFO,
                "layout.container_repository",
                f"The repository is in use by a server in a container: {held[0].describe()} "
                "holds its lock; it is stopped and moved with the container and its volume.",
                held[0].lock_path,
            )
        )
    return notes


def with_deployment_notes(location: ServerLocation) -> ServerLocation:
    """``location`` with its deployment notes added (where the Layout shows them)."""
    return replace(location, notes=(*location.notes, *deployment_notes(location)))


def container_holders(
    location: ServerLocation, holders: Sequence[RepositoryHolder] | None = None
) -> list[RepositoryHolder]:
    """Lock holders of the data or managed dir that live in another PID namespace."""
    if holders is None:
        dirs = dict.fromkeys(d for d in (location.data_dir.value, location.managed_dir.value) if d)
        holders = [h for d in dirs for h in repository_holders(d)]
    return [h for h in holders if h.other_namespace]


def container_refusal(
    location: ServerLocation,
    target: str,
    changed_keys: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    container: ContainerContext | None = None,
    holders: Sequence[RepositoryHolder] | None = None,
) -> str | None:
    """Why a relocation must not start here (one line), or None when it may."""
    env = os.environ if env is None else env
    container = detect_container(host_root(env)) if container is None else container
    source = location.data_dir.value or ""
    if container.inside and container.server_is_main:
        variables = _variables(changed_keys, {**_server_env(container, env), **env})
        return (
            "this console runs inside the OMERO.server container "
            f"({container.describe()}): stopping the server would stop the container and "
            "this console with it, and config.xml is rebuilt at every start; nothing was "
            f"changed. To move the repository: {volume_advice(source, target)}{variables}"
        )
    held = container_holders(location, holders)
    if held:
        return (
            f"the repository {source} is in use by a containerised server: "
            f"{held[0].describe()} holds {held[0].lock_path}; it cannot be stopped from "
            f"here and nothing was changed. To move it: {volume_advice(source, target)}"
        )
    return None


def _server_env(container: ContainerContext, env: Mapping[str, str]) -> dict[str, str]:
    """The server process's environment, where the CONFIG_* variables were given."""
    if container.server_pid is None:
        return {}
    path = host_root(env) / "proc" / str(container.server_pid) / "environ"
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0"))
    return {name: value for name, sep, value in pairs if sep}


def _variables(keys: Sequence[str], env: Mapping[str, str]) -> str:
    found = variables_for(keys, env)
    if not found:
        return ""
    named = ", ".join(f"{name} (sets {prop} to {value})" for name, prop, value in found)
    return (
        f"; {named} is applied at every start: keep the volume mounted at that path "
        "inside the container, or change the variable with it"
    )
