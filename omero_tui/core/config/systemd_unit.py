"""A systemd service unit as far as the OMERO configuration goes: who it runs as, the
environment it gives (``Environment=``, ``EnvironmentFile=``, drop-ins included) and
the ``.omero`` files its ``ExecStartPre`` loads at every start."""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from omero_tui.core.config.systemctl_show import fragment_path
from omero_tui.core.record import frozen

DEFAULT_UNIT = "omero-server"
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)


@frozen
class UnitInfo:
    path: str
    user: str | None
    environment: tuple[tuple[str, str, str], ...]  # (name, value, where) in order
    exec_start_pre: tuple[str, ...]
    load_patterns: tuple[str, ...]  # the globs/files its ExecStartPre loads
    is_template: bool
    tool: str | None
    exec_start: tuple[str, ...] = ()
    working_directory: str | None = None


def read_unit(path: str) -> UnitInfo | None:
    """The parts of a service unit (plus its drop-ins) that decide the configuration."""
    texts = []
    for one in [path, *sorted(glob.glob(path + ".d/*.conf"))]:
        try:
            texts.append((one, Path(one).read_text(encoding="utf-8", errors="replace")))
        except OSError:
            if one == path:
                return None
    user: str | None = None
    env: list[tuple[str, str, str]] = []
    pre: list[str] = []
    start: list[str] = []
    workdir: str | None = None
    for where, text in texts:
        for key, value in _service_entries(text):
            if key == "User":
                user = value or None
            elif key == "Environment":
                env += [(n, v, where) for n, v in parse_assignments(value)]
            elif key == "EnvironmentFile":
                env += read_environment_file(value)
            elif key == "WorkingDirectory":
                workdir = value or None
            elif key == "ExecStartPre":
                if value:
                    pre.append(value)
                else:  # an empty assignment resets the list (drop-ins)
                    pre.clear()
            elif key == "ExecStart":
                start = [*start, value] if value else []  # empty: a drop-in's reset
    patterns = tuple(p for command in pre for p in _load_patterns(command))
    # Here, not at the top: a host without the unit (most commands ask) needs none of it.
    from omero_tui.core.config.omero_files import template_tool

    is_template, tool = template_tool(texts[0][1])
    return UnitInfo(
        path, user, tuple(env), tuple(pre), patterns, is_template, tool, tuple(start), workdir
    )


def _service_entries(text: str) -> list[tuple[str, str]]:
    entries, section, pending = [], "", ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service" and "=" in line:
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


def parse_assignments(value: str) -> list[tuple[str, str]]:
    """``A=1 "B=two words"`` (an ``Environment=`` line) -> [(name, value)...]."""
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    return [tuple(w.split("=", 1)) for w in words if "=" in w]  # type: ignore[misc]


def read_environment_file(value: str) -> list[tuple[str, str, str]]:
    """(name, value, file) of an ``EnvironmentFile=`` (``-`` prefix: may be missing)."""
    path = value[1:] if value.startswith("-") else value
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = line.removeprefix("export ")
        name, sep, rest = line.partition("=")
        if not sep:
            continue
        try:
            words = shlex.split(rest)
        except ValueError:
            words = [rest]
        found.append((name.strip(), " ".join(words), path))
    return found


def _load_patterns(command: str) -> list[str]:
    """The ``.omero`` files an ExecStartPre loads: ``omero load [--glob] PATTERN...``
    directly, or inside the script it runs (the role's omero-server-config-update.sh)."""
    argv = exec_argv(command)
    if "load" in argv:
        return [a for a in argv[argv.index("load") + 1 :] if not a.startswith("-")]
    if not argv:
        return []
    try:
        with open(argv[0], "rb") as script:
            text = script.read(65536).decode("utf-8", "replace")
    except OSError:
        return []
    return re.findall(r"""[^\s"'=]*\.omero\b""", text)


def rooted_unit_dirs(root: str | os.PathLike[str] = "/") -> tuple[str, ...]:
    """The system unit dirs under ``root`` (``/``, or a host root tests point into)."""
    return tuple(os.path.join(root, d.lstrip("/")) for d in UNIT_DIRS)


def exec_argv(command: str) -> list[str]:
    """The argv of an ``Exec*=`` line, its ``-@:+!`` prefixes taken off."""
    try:
        return shlex.split(command.lstrip("-@:+!"))
    except ValueError:
        return []


def unit_file_name(unit: str = DEFAULT_UNIT) -> str:
    """``omero-server`` -> ``omero-server.service`` (a name with a suffix is kept)."""
    return unit if "." in unit else unit + ".service"


def find_unit_file(
    unit: str = DEFAULT_UNIT, unit_dirs: Sequence[str] = UNIT_DIRS, *, ask_systemd: bool = True
) -> str | None:
    """Where the unit file is: systemd's answer if it can give one (``ask_systemd``:
    runs ``systemctl show``), else the usual dirs."""
    name = unit_file_name(unit)
    if ask_systemd:
        path = fragment_path(name)
        if path is not None:
            return path
    for folder in unit_dirs:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None
