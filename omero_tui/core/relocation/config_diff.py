"""What a config.xml rewrite changed, property by property.

OMERO writes config.xml on one line, so a textual diff would be one long line
replaced by another. The wizard shows the change the way an admin thinks of it:
per profile (``__ACTIVE__`` included), which property was added, changed or removed.
"""

from __future__ import annotations

from omero_tui.core.config.xml_file import ACTIVE, ConfigDocument, ConfigError, parse_config
from omero_tui.core.record import frozen


@frozen
class PropertyChange:
    block: str  # "__ACTIVE__" or a profile name
    key: str
    old: str | None  # None: added
    new: str | None  # None: removed

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"

    def lines(self) -> list[str]:
        out = []
        if self.old is not None:
            out.append(f"- {self.key}={self.old}")
        if self.new is not None:
            out.append(f"+ {self.key}={self.new}")
        return out


def _blocks(doc: ConfigDocument) -> dict[str, dict[str, str]]:
    blocks = {ACTIVE: doc.properties(ACTIVE)}
    for name in doc.profile_names():
        blocks[name] = doc.properties(name)
    return blocks


def config_diff(before: bytes | str, after: bytes | str) -> list[PropertyChange]:
    """Every property that differs, in file order; ConfigError if either cannot be read."""
    old, new = _blocks(parse_config(before)), _blocks(parse_config(after))
    changes = []
    for block in dict.fromkeys([*old, *new]):
        was, now = old.get(block, {}), new.get(block, {})
        for key in dict.fromkeys([*was, *now]):
            if was.get(key) != now.get(key):
                changes.append(PropertyChange(block, key, was.get(key), now.get(key)))
    return changes


def describe_diff(before: bytes | str, after: bytes | str) -> list[str]:
    """The changes as diff lines grouped under their block; never raises."""
    try:
        changes = config_diff(before, after)
    except ConfigError as err:
        return [f"(cannot compare: {err})"]
    if not changes:
        return ["(no property changed)"]
    lines: list[str] = []
    block = None
    for change in changes:
        if change.block != block:
            block = change.block
            lines.append(f"[{block}]")
        lines += [f"  {line}" for line in change.lines()]
    return lines
