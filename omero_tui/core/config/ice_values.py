"""How OMERO's property values turn into paths.

config.xml values pass through Ice's property layer, where a backslash escapes a
backslash, ``#``, ``=`` or a space (so ``D:\\\\OMERO`` in the file means ``D:\\OMERO``),
and OMERO's templates refer to other properties as ``${omero.data.dir}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ESCAPABLE = "\\#= "
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9._-]+)\}")


def unescape(value: str) -> str:
    """The value the server sees after Ice's property parser has read it.

    IceGrid copies config.xml values into the server's property file unchanged, and
    Ice's parser then: turns ``\\\\``, ``\\#``, ``\\=`` and ``\\ `` into the escaped
    character and keeps any other backslash as it is; ends the value at an unescaped
    ``#`` (a comment); and trims unescaped white space at both ends.
    """
    chars: list[tuple[str, bool]] = []  # (character, was escaped)
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in _ESCAPABLE:
            chars.append((value[i + 1], True))
            i += 2
            continue
        if ch == "#":
            break
        chars.append((ch, False))
        i += 1
    while chars and not chars[0][1] and chars[0][0].isspace():
        chars.pop(0)
    while chars and not chars[-1][1] and chars[-1][0].isspace():
        chars.pop()
    return "".join(ch for ch, _ in chars)


def resolve(value: str, properties: Mapping[str, str], *, depth: int = 8) -> str:
    """Expand ``${key}`` references from ``properties``; unknown ones are left as written."""
    for _ in range(depth):
        expanded = _REFERENCE.sub(lambda m: properties.get(m.group(1), m.group(0)), value)
        if expanded == value:
            break
        value = expanded
    return value
