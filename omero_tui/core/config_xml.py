"""OMERO's ``etc/grid/config.xml``: read, change and write it exactly as OMERO does.

INTERFACE STUB: the implementation is being written; signatures are the contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VERSION = "5.1.0"
ACTIVE = "__ACTIVE__"
PROFILE_KEY = "omero.config.profile"
VERSION_KEY = "omero.config.version"
IGNORED_KEYS = (VERSION_KEY, PROFILE_KEY)
KEY_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


class ConfigError(Exception):
    """Any refusal; ``str(err)`` is one line fit to show an administrator."""


class ConfigFormatError(ConfigError):
    """Malformed XML or a layout OMERO would not have written: never overwritten."""


class ConfigLockedError(ConfigError):
    """``config.xml.lock`` stayed held past the retry window."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class ConfigDocument:
    """A parsed config.xml. Immutable; changes produce a new document."""

    stored_profile: str  # omero.config.profile in __ACTIVE__ ("default" if absent)
    profiles: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # file order, no __ACTIVE__
    active_block: tuple[tuple[str, str], ...]  # __ACTIVE__ as found (for consistency checks)

    def profile_names(self) -> list[str]: ...
    def profile_for(self, env: Mapping[str, str]) -> str:
        """OMERO_CONFIG from env if set, else the stored profile."""
        ...
    def properties(self, profile: str) -> dict[str, str]:
        """All properties of a profile, as OMERO's ``keys()`` sees them ({} if absent)."""
        ...


@dataclass(frozen=True)
class WriteResult:
    path: Path
    backup: Path | None
    before: ConfigDocument
    after: ConfigDocument


def validate_key(key: str) -> None: ...
def parse_config(text: str | bytes, source: str = "config.xml") -> ConfigDocument: ...
def read_config(path: Path) -> ConfigDocument: ...
def new_config(profile: str = "default") -> ConfigDocument: ...
def with_changes(
    doc: ConfigDocument, profile: str, changes: Mapping[str, str | None]
) -> ConfigDocument: ...
def render_config(doc: ConfigDocument) -> bytes: ...
def write_config(
    path: Path,
    changes: Mapping[str, str | None],
    *,
    env: Mapping[str, str] | None = None,
    lock_timeout: float = 10.0,
    expect: ConfigDocument | None = None,
) -> WriteResult: ...
def lock_holder(lock_path: Path) -> str | None: ...
