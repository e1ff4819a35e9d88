"""Completes directory names in the target input (accepted with → or End).

The listing runs in a thread with a short timeout: a hung network mount on the way
must not freeze the console while the admin types.
"""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester

LIST_TIMEOUT_S = 0.5


def complete_directory(value: str) -> str | None:
    """``/mnt/da`` -> ``/mnt/data/`` when exactly one directory there starts with ``da``;
    the longest common prefix when several do."""
    if not value.startswith("/"):
        return None
    parent, _, stem = value.rpartition("/")
    parent = parent or "/"
    try:
        names = sorted(
            e.name
            for e in os.scandir(parent)
            if e.name.startswith(stem)
            and (stem.startswith(".") or not e.name.startswith("."))
            and e.is_dir()
        )
    except OSError:
        return None
    if not names:
        return None
    common = os.path.commonprefix(names)
    head = value[: len(value) - len(stem)]
    if len(names) == 1:
        return head + names[0] + "/"
    return head + common if len(common) > len(stem) else None


class DirectorySuggester(Suggester):
    def __init__(self) -> None:
        # Directories change while the wizard is open (the copy creates the target).
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(complete_directory, value), LIST_TIMEOUT_S
            )
        except TimeoutError:
            return None
