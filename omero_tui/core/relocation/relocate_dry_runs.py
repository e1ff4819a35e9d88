"""What ``--resume`` and ``--rollback`` would do, in words, without doing any of it."""

from __future__ import annotations

from omero_tui.core.relocation.plan import RelocationPlan
from omero_tui.core.relocation.status import RelocationStatus
from omero_tui.core.usage.format import human_bytes


def describe_remaining(status: RelocationStatus) -> list[str]:
    """The steps a resume would run, in order."""
    plan = RelocationPlan.from_json(status.plan)
    actions = []
    for step in plan.steps:
        if step.id == "preflight":
            continue
        if step.id == "stop":
            if not status.done("config"):
                actions.append("stop: prove the server stopped again (stop it if it runs)")
            continue
        if status.done(step.id):
            continue
        title = step.title
        if step.id == "copy" and status.copied_upto:
            title = (
                f"continue after the {status.copied_entries} entries "
                f"({human_bytes(status.copied_bytes)}) already copied and verified"
            )
        actions.append(f"{step.id}: {title}")
    return actions


def rollback_actions(status: RelocationStatus) -> list[str]:
    """What a rollback would undo, in order."""
    plan = RelocationPlan.from_json(status.plan)
    facts = status.facts
    actions = []
    if status.started("config") or status.started("start") or status.started("rename"):
        actions.append("stop the server and prove it stopped (it may use the new location)")
    if facts.get("config_before") and status.started("config"):
        actions.append(f"put back the original bytes of {plan.config_path}")
        for path in sorted({c.path for c in plan.source_changes}):
            actions.append(f"put back the original bytes of {path}")
    if plan.method == "rename":
        if facts.get("renamed") or status.started("rename"):
            actions.append(f"rename {plan.target} back to {plan.source_real}")
    elif status.started("prepare"):
        actions.append(f"remove the copy in {plan.target} (only what the relocation created)")
    before = facts.get("target_before") or {}
    if before.get("existed"):
        actions.append(f"give {plan.target} back its owner, mode and times")
    created = facts.get("created_dirs") or []
    if created:
        actions.append(f"remove the directories it created, if empty: {', '.join(created)}")
    if facts.get("server_was_running"):
        actions.append("start the server again on the old location if it is not running")
    return actions or ["nothing was changed yet: only the journal is closed"]
