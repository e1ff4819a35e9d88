"""A stand-in that builds the real object at its first use.

The console's first frame needs only the Overview; the other panels' sources import
their whole core (probes, the relocation engine, ...). Built lazily, that import runs
when a panel first asks, in its worker thread, not before the first frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Lazy:
    def __init__(self, factory: Callable[[], Any]) -> None:
        object.__setattr__(self, "_factory", factory)
        object.__setattr__(self, "_made", None)
        object.__setattr__(self, "_lock", threading.Lock())

    def _target(self) -> Any:
        made = object.__getattribute__(self, "_made")
        if made is None:
            with object.__getattribute__(self, "_lock"):
                made = object.__getattribute__(self, "_made")
                if made is None:
                    made = object.__getattribute__(self, "_factory")()
                    object.__setattr__(self, "_made", made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a lazily built source is read-only")

    def __repr__(self) -> str:
        made = object.__getattribute__(self, "_made")
        return f"Lazy({made!r})" if made is not None else "Lazy(not built yet)"


def lazy(module: str, name: str, **kwargs: Any) -> Lazy:
    """``lazy("omero_tui.core.perms.source", "PermsSource", state_dir=...)``."""

    def factory() -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(**kwargs)

    return Lazy(factory)
