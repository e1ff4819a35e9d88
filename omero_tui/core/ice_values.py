"""How OMERO's property values turn into paths.

config.xml values pass through Ice's property layer, where a backslash escapes the
next character (so ``D:\\\\OMERO`` in the file means ``D:\\OMERO``), and OMERO's
templates refer to other properties as ``${omero.data.dir}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z0-9._-]+)\}")


def unescape(value: str) -> str:
    """The value Ice hands the server: each backslash escapes the character after it."""
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            out.append(next(chars, "\\"))
        else:
            out.append(ch)
    return "".join(out)


def resolve(value: str, properties: Mapping[str, str], *, depth: int = 8) -> str:
    """Expand ``${key}`` references from ``properties``; unknown ones are left as written."""
    for _ in range(depth):
        expanded = _REFERENCE.sub(lambda m: properties.get(m.group(1), m.group(0)), value)
        if expanded == value:
            break
        value = expanded
    return value
