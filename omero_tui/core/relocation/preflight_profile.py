"""Preflight of the profile: the server reads only ``__ACTIVE__``.

A relocation rewrites the profile it was planned from. When that is the stored profile,
OMERO regenerates ``__ACTIVE__`` from it on save, so the server follows. When the admin
asked for another profile (``--profile``) and ``__ACTIVE__`` still names the moved
directory, the rewrite would leave the server pointing at the old path: refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.core.config import ice_values
from omero_tui.core.config.xml_file import ACTIVE, ConfigError, read_config
from omero_tui.core.relocation.checks import Check, fail, passed
from omero_tui.core.relocation.config_rewrite import relative_under

if TYPE_CHECKING:
    from omero_tui.core.relocation.plan import RelocationPlan


def profile_checks(plan: RelocationPlan) -> list[Check]:
    if not plan.config_path or not plan.profile:
        return []
    try:
        doc = read_config(Path(plan.config_path))
    except ConfigError:
        return []  # the config checks say why
    if plan.profile == doc.stored_profile:
        return [
            passed(
                "relocation.profile",
                f"profile {plan.profile!r} is the active one: __ACTIVE__ follows the rewrite",
            )
        ]
    active = doc.properties(ACTIVE)
    context = {**active}
    stale = []
    for change in plan.config_changes:
        value = active.get(change.key)
        if not value:
            continue
        resolved = ice_values.resolve(ice_values.unescape(value), context)
        if relative_under(resolved, plan.source) is not None:
            stale.append(f"{change.key}={resolved}")
    if stale:
        return [
            fail(
                "relocation.profile_not_active",
                f"profile {plan.profile!r} is not the active one: the server reads __ACTIVE__ "
                f"(profile {doc.stored_profile!r}), which names {', '.join(stale)}; the "
                "rewrite would leave the server on the old path; relocate without --profile",
                plan.config_path,
            )
        ]
    return [
        passed(
            "relocation.profile",
            f"profile {plan.profile!r} is not the active one, and __ACTIVE__ does not name "
            f"{plan.source}: the server is not affected",
        )
    ]
