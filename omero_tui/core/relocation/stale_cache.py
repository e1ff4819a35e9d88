"""The Bio-Formats memo files a relocation leaves stale.

The memoizer stores ``<cache dir>/<absolute path of the image file>.bfmemo``, so after
the managed repository moved, the memo tree under its *old* absolute path is dead
weight: OMERO looks up memos under the new path and rebuilds them there on first use.
Only that subtree is offered for clearing; memos of anything else stay.
"""

from __future__ import annotations

import os

from omero_tui.core.record import frozen
from omero_tui.core.relocation.plan import RelocationPlan
from omero_tui.core.relocation.remove_source import delete_tree


@frozen
class StaleMemos:
    cache_dir: str
    stale_dir: str  # <cache dir>/<old managed dir>, the part to clear
    old_managed: str


def stale_memos(plan: RelocationPlan) -> StaleMemos | None:
    """The stale memo tree after ``plan`` moved the managed repository, if there is one."""
    old_managed = os.path.realpath(plan.managed_dir) if plan.managed_dir else ""
    if not old_managed:
        return None
    moved_managed = plan.what == "managed" or old_managed.startswith(
        plan.source_real.rstrip("/") + "/"
    )
    if not moved_managed:
        return None
    # The cache moves with the data dir; with only the managed dir moved it stays put.
    cache_home = plan.target if plan.what == "data" else plan.data_dir
    cache_dir = os.path.join(cache_home, "BioFormatsCache")
    stale = os.path.join(cache_dir, old_managed.lstrip("/"))
    if not os.path.isdir(stale) or os.path.islink(stale):
        return None
    return StaleMemos(cache_dir, stale, old_managed)


def clear_stale_memos(memos: StaleMemos) -> int:
    """Delete the stale memo tree; returns the number of entries removed."""
    real = os.path.realpath(memos.stale_dir)
    if not real.startswith(os.path.realpath(memos.cache_dir).rstrip("/") + "/"):
        raise ValueError(f"{memos.stale_dir} is not inside {memos.cache_dir}")
    return delete_tree(real, keep_root=False)
