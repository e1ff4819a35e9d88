"""What resume and roll back would do, short enough for an 80x24 screen."""

from __future__ import annotations

from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.relocate_dry_runs import describe_remaining, rollback_actions
from omero_tui.core.relocation.rollback import check_rollback_allowed
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.core.usage.format import human_bytes


def resume_summary(status: RelocationStatus) -> str:
    """ "stop (prove it again) → copy (after 512 entries, 3.9 MiB, already verified) → ..."."""
    steps = []
    for line in describe_remaining(status):
        step = line.split(":", 1)[0]
        if step == "copy" and status.copied_upto:
            step += (
                f" (after the {status.copied_entries:,} entries, "
                f"{human_bytes(status.copied_bytes)}, already verified)"
            )
        steps.append(step)
    return " → ".join(steps) or "nothing left to do"


def rollback_refusal(status: RelocationStatus) -> str | None:
    """Why this relocation must not be rolled back (the server ran on the target), or None."""
    try:
        check_rollback_allowed(status)
    except RelocationRefused as err:
        return str(err)
    return None


def rollback_summary(status: RelocationStatus) -> str:
    refusal = rollback_refusal(status)
    if refusal:
        return f"not possible: {refusal}"
    return "; ".join(rollback_actions(status))
