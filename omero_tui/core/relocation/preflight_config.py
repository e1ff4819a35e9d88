"""Preflight of the configuration side: can config.xml be rewritten, and will it stay so?

Ansible installs rebuild config.xml from ``$OMERODIR/config/*.omero`` at every deploy,
and Docker images from ``CONFIG_omero_*`` variables at every start: either would put the
old path back and the server would come up on the old (or an empty) repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from omero_tui.core.config.lock import lock_holder
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.relocation.checks import Check, fail, passed, warn
from omero_tui.core.server.processes import find_server_processes

if TYPE_CHECKING:
    from omero_tui.core.relocation.plan import RelocationPlan

ENV_PREFIX = "CONFIG_omero_"


def config_checks(
    plan: RelocationPlan, location: ServerLocation, env: Mapping[str, str]
) -> list[Check]:

    path = plan.config_path
    if not path or not plan.server_dir:
        return [
            fail(
                "relocation.no_config",
                "no OMERO.server dir was found, so there is no config.xml to point at "
                "the new location; give --server-dir",
            )
        ]
    checks = []
    try:
        read_config(Path(path))
    except ConfigError as err:
        return [fail("relocation.config_unreadable", f"config.xml cannot be used: {err}", path)]
    if not os.access(path, os.W_OK) or not os.access(os.path.dirname(path), os.W_OK):
        checks.append(
            fail(
                "relocation.config_read_only",
                f"{path} or its directory is not writable, so the new location "
                "could not be recorded",
                path,
            )
        )
    holder = lock_holder(Path(path + ".lock"))
    if holder:
        checks.append(
            fail(
                "relocation.config_locked",
                f"config.xml is being changed right now ({holder} holds config.xml.lock; "
                "`omero admin start` holds it until the server is up): try again when it "
                "is done",
                path,
            )
        )
    if not plan.config_changes:
        checks.append(
            fail("relocation.config_changes", "no configuration change could be planned", path)
        )
    else:
        keys = ", ".join(c.key for c in plan.config_changes)
        checks.append(
            passed("relocation.config_changes", f"config.xml will be updated: {keys} (backup kept)")
        )
    checks += _override_checks(plan.server_dir, env)
    return checks


def ansible_config_files(server_dir: str) -> list[str]:
    folder = Path(server_dir) / "config"
    try:
        return sorted(str(p) for p in folder.glob("*.omero"))
    except OSError:
        return []


def environment_overrides(server_dir: str, env: Mapping[str, str]) -> list[str]:
    """``CONFIG_omero_*`` names in our environment and in the running server's."""
    names = {k for k in env if k.startswith(ENV_PREFIX)}
    for proc in find_server_processes(server_dir):
        try:
            names |= {k for k in psutil.Process(proc.pid).environ() if k.startswith(ENV_PREFIX)}
        except psutil.Error:
            continue
    return sorted(names)


def _override_checks(server_dir: str, env: Mapping[str, str]) -> list[Check]:

    checks = []
    files = ansible_config_files(server_dir)
    if files:
        checks.append(
            warn(
                "relocation.config_ansible",
                f"{files[0]} (and {len(files) - 1} more) will rebuild config.xml at "
                "the next deploy (`omero load`): change omero.data.dir there too, "
                "or the server goes back to the old path",
                files[0],
            )
        )
    names = environment_overrides(server_dir, env)
    if names:
        checks.append(
            warn(
                "relocation.config_environment",
                f"{names[0]} is set in the server's environment and rewrites "
                "config.xml at every start: change it too, or the server goes back "
                "to the old path",
            )
        )
    return checks
