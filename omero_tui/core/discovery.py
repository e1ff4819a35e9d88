"""Where is the server, its configuration and its repository, and how do we know.

INTERFACE STUB: dataclasses are the contract; ``discover`` is being written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Determined:
    """A value the console worked out, with the reason in words (shown in the UI)."""

    value: str | None
    how: str  # e.g. "from OMERODIR", "omero.data.dir in config.xml (profile default)"


@dataclass(frozen=True)
class ServerLocation:
    server_dir: Determined  # value None when no server dir was found
    config_path: str | None  # $OMERODIR/etc/grid/config.xml when a server dir is known
    profile: Determined  # active configuration profile
    data_dir: Determined  # always has a value (platform default at worst)
    managed_dir: Determined  # always has a value
    properties: Mapping[str, str] = field(default_factory=dict)  # active profile, resolved
    config_error: str | None = None  # one line, when config.xml could not be read
    demo: bool = False  # True inside the embedded demo sandbox
