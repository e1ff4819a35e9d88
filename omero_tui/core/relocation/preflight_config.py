"""Preflight of the configuration side: can config.xml be rewritten, and will it stay so?

What will rewrite config.xml at the next start (Ansible's ``.omero`` files, Docker's
``CONFIG_*`` variables) is judged in ``source_checks``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.core.config.lock import lock_holder
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.relocation.checks import Check, fail, passed

if TYPE_CHECKING:
    from omero_tui.core.relocation.plan import RelocationPlan


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
    return checks
