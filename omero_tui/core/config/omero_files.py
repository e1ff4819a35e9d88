"""The ``.omero`` files ``omero load`` runs, and the ``key=value`` files ``config load`` reads.

A ``.omero`` file holds one OMERO CLI command per line (``config set KEY VALUE``,
``config drop PROFILE``, ``config load FILE``), with ``#`` comments and shell quoting.
The reference Ansible role's ``00-omero-server.omero`` is a template (first line
``# Ansible managed``) that every playbook run writes again.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from omero_tui.core.record import frozen

# First lines a configuration-management tool writes into the files it owns.
_TEMPLATE_MARKS = (
    (re.compile(r"ansible[ _-]managed", re.I), "Ansible"),
    (re.compile(r"managed by (puppet|salt|chef)", re.I), None),
)
_MAX_FILE_BYTES = 1 << 20  # a .omero file is a few lines; never slurp a huge stray file


@frozen
class OmeroCommand:
    """One command line of a ``.omero`` file (``omero load`` runs each as a CLI call)."""

    line: int
    text: str
    verb: str  # "set" | "drop" | "load" | "other"
    key: str | None = None  # set
    value: str | None = None  # set: None deletes
    names: tuple[str, ...] = ()  # drop: the profile; load: the files
    error: str | None = None  # a line that cannot be parsed (unbalanced quotes)


@frozen
class OmeroFile:
    path: str
    commands: tuple[OmeroCommand, ...]
    is_template: bool
    tool: str | None
    error: str | None = None  # unreadable: one line


def template_tool(text: str) -> tuple[bool, str | None]:
    """(is a template, which tool) from the leading comment lines."""
    for raw in text.splitlines()[:5]:
        line = raw.strip()
        if line and not line.startswith("#"):
            break
        for pattern, tool in _TEMPLATE_MARKS:
            if pattern.search(line):
                return True, tool or pattern.search(line).group(1).capitalize()  # type: ignore[union-attr]
    return False, None


def parse_omero_text(text: str) -> tuple[OmeroCommand, ...]:
    """The commands of a ``.omero`` file: one CLI command per line, ``#`` comments,
    shell quoting (``omero load`` splits each line like a shell)."""
    commands = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            argv = shlex.split(stripped, comments=True)
        except ValueError as err:
            commands.append(OmeroCommand(number, stripped, "other", error=f"cannot parse: {err}"))
            continue
        if argv:
            commands.append(_command(number, stripped, argv))
    return tuple(commands)


def _command(number: int, text: str, argv: list[str]) -> OmeroCommand:
    if argv[:1] != ["config"] or len(argv) < 2:
        return OmeroCommand(number, text, "other")
    verb, rest = argv[1], argv[2:]
    if verb == "set":
        args = [a for a in rest if a not in ("--report",)]
        if args[:1] == ["--"]:
            args = args[1:]
        if not args or args[0].startswith("-"):
            return OmeroCommand(number, text, "other")  # -f FILE and friends: not modelled
        value = args[1] if len(args) > 1 else None
        return OmeroCommand(number, text, "set", key=args[0], value=value)
    if verb == "drop" and rest:
        return OmeroCommand(number, text, "drop", names=(rest[0],))
    if verb == "load":
        files = tuple(a for a in rest if a != "-q")
        return OmeroCommand(number, text, "load", names=files)
    return OmeroCommand(number, text, "other")


def read_omero_file(path: str) -> OmeroFile:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE_BYTES)
    except OSError as err:
        return OmeroFile(path, (), False, None, f"cannot read {path}: {err.strerror or err}")
    text = data.decode("utf-8", "replace")
    is_template, tool = template_tool(text)
    return OmeroFile(path, parse_omero_text(text), is_template, tool)


def read_properties(path: str) -> list[tuple[int, str, str]]:
    """``config load FILE``: (line, key, value) of a ``key=value`` file as OMERO reads
    it (``#`` comments, a trailing backslash continues the line)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found, pending, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = (pending + raw).strip() if pending else raw.strip()
        if not pending:
            start = number
        pending = ""
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        key, _, value = line.partition("=")
        if key:
            found.append((start, key, value))
    return found


def is_template_file(path: str) -> tuple[bool, str | None]:
    try:
        with open(path, "rb") as handle:
            return template_tool(handle.read(4096).decode("utf-8", "replace"))
    except OSError:
        return False, None
