"""Configuration sources that win over config.xml: what writes the repository paths back.

config.xml is not always the source of truth. Three things rewrite it:

- the reference Ansible role's ``<basedir>/config/*.omero`` files (``basedir`` is the
  parent of the OMERODIR symlink), loaded with ``omero load`` by the systemd unit's
  ``ExecStartPre`` at EVERY start. ``00-omero-server.omero`` is a template the next
  playbook run rewrites from ``omero_server_datadir``;
- the official Docker image's ``CONFIG_*`` variables, set with ``omero config set`` at
  every container start (after the ``.omero`` files);
- the systemd unit's ``Environment=`` / ``EnvironmentFile=`` (OMERODIR, OMERO_CONFIG:
  the profile ``omero load`` then writes to).

Public API (small on purpose; other modules build on it):

- :func:`find_config_sources` -> ``list[ConfigSource]``: who sets which key, for the
  Layout panel, ``layout --json`` and the relocation's guards.
- :func:`scan_sources` -> :class:`SourceScan`: the same, grouped as a start applies
  them; ``next_start`` says what the active profile holds after that start
  and which source decided each key (the relocation's preflight and start guard).
- :func:`property_of_variable`: the Docker image's ``CONFIG_*`` name mapping.

The file formats are in ``omero_files`` and ``systemd_unit``. Everything here only
reads; the relocation rewrites a ``.omero`` line (``relocation/source_rewrite``).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from omero_tui.core.config.omero_files import (
    OmeroCommand,
    OmeroFile,
    is_template_file,
    read_omero_file,
    read_properties,
)
from omero_tui.core.config.systemd_unit import DEFAULT_UNIT, UnitInfo, find_unit_file, read_unit
from omero_tui.core.record import field, frozen

DATA_DIR_KEY = "omero.data.dir"
# The properties a relocation changes; a source naming one of them can undo it.
RELOCATION_KEYS = (
    DATA_DIR_KEY,
    "omero.managed.dir",
    "omero.pixeldata.memoizer.dir",
    "omero.fs.watchDir",
)
UNIT_VARIABLES = ("OMERODIR", "OMERO_CONFIG")


@frozen
class ConfigSource:
    """One place that sets (or erases) a key when the server next starts.

    ``kind``: "omero file" (a ``config set``/``drop`` line of a ``.omero`` file),
    "properties file" (a ``key=value`` line read by ``config load``), "environment"
    (a ``CONFIG_*`` variable), "systemd unit" (``Environment=`` or the
    ``ExecStartPre`` that loads the ``.omero`` files).
    """

    kind: str
    where: str  # the file, or the variable's name
    key: str  # a property name; "*" for ``config drop`` (every key of a profile);
    #           OMERODIR / OMERO_CONFIG / ExecStartPre for a unit's lines
    value: str | None  # None: the key is deleted (``config set KEY``, ``config drop``)
    is_template: bool  # rewritten by a tool (``# Ansible managed``): edit its inventory
    line: int | None = None  # 1-based line in ``where``
    text: str = ""  # the line or assignment as written
    tool: str | None = None  # "Ansible" for an Ansible template
    how: str = ""  # how the console found it, in words
    profile: str | None = None  # the profile a ``config drop`` removes

    def describe(self) -> str:
        """``/opt/omero/server/config/00-omero-server.omero:14`` or ``CONFIG_omero_data_dir``."""
        return f"{self.where}:{self.line}" if self.line else self.where

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "where": self.where,
            "line": self.line,
            "key": self.key,
            "value": self.value,
            "is_template": self.is_template,
            "tool": self.tool,
            "text": self.text,
            "how": self.how,
        }


@frozen
class SourceScan:
    """Everything found, in the order a start applies it."""

    files: tuple[OmeroFile, ...]  # .omero files, in ``omero load --glob`` order
    variables: tuple[ConfigSource, ...]  # CONFIG_* variables naming relocation keys
    unit: UnitInfo | None
    load_profile: str | None = None  # OMERO_CONFIG from the unit: where `omero load` writes
    notes: tuple[str, ...] = field(default_factory=tuple)


def file_source(
    file: OmeroFile | None, cmd: OmeroCommand, key: str, value: str | None
) -> ConfigSource:
    return ConfigSource(
        "omero file",
        file.path if file else "(commands)",
        key,
        value,
        bool(file and file.is_template),
        cmd.line,
        cmd.text,
        file.tool if file else None,
        "loaded by `omero load` at every start",
        cmd.names[0] if cmd.verb == "drop" else None,
    )


# ------------------------------------------------------------------ environment


def property_of_variable(name: str) -> str | None:
    """The property a ``CONFIG_*`` variable sets, mapped as the official image's
    ``50-config.py`` maps it: drop ``CONFIG_``; ``_`` between two other characters
    becomes ``.`` (non-overlapping, left to right); then ``__`` becomes ``_``."""
    if not name.startswith("CONFIG_") or len(name) == len("CONFIG_"):
        return None
    prop = re.sub(r"([^_])_([^_])", r"\1.\2", name[len("CONFIG_") :])
    return prop.replace("__", "_")


def variable_sources(
    environments: Sequence[tuple[str, Mapping[str, str]]],
) -> list[ConfigSource]:
    """``CONFIG_*`` variables that set a relocation key, from each (where, environment)."""
    found: dict[tuple[str, str], ConfigSource] = {}
    for where, env in environments:
        for name, value in env.items():
            key = property_of_variable(name)
            if key in RELOCATION_KEYS and (name, value) not in found:
                found[(name, value)] = ConfigSource(
                    "environment", name, key, value, False, None, f"{name}={value}",
                    None, f"set in {where}; `omero config set` at every container start",
                )  # fmt: skip
    return list(found.values())


# -------------------------------------------------------------------- discovery


def omero_file_patterns(server_dir: str | None, unit: UnitInfo | None) -> list[str]:
    """Globs of the ``.omero`` files a start loads: the unit's ExecStartPre, else the
    role's layout (``config/*.omero`` next to the OMERODIR symlink and next to what it
    points at)."""
    if unit is not None and unit.load_patterns:
        return list(unit.load_patterns)
    if not server_dir:
        return []
    folders = {os.path.join(os.path.dirname(os.path.abspath(server_dir)), "config")}
    folders.add(os.path.join(os.path.dirname(os.path.realpath(server_dir)), "config"))
    return [os.path.join(folder, "*.omero") for folder in sorted(folders)]


def _unit_for(
    server_dir: str | None, unit_path: str | None, unit: str, ask_systemd: bool
) -> UnitInfo | None:
    path = unit_path if unit_path is not None else find_unit_file(unit, ask_systemd=ask_systemd)
    info = read_unit(path) if path else None
    if info is None or not server_dir:
        return info
    # A unit of another install on the same host says nothing about this one.
    text = " ".join(info.exec_start_pre) + " ".join(v for _, v, _ in info.environment)
    mine = {os.path.abspath(server_dir), os.path.realpath(server_dir)}
    config_dirs = {os.path.join(os.path.dirname(p), "config") for p in mine}
    if any(p in text for p in mine | config_dirs):
        return info
    try:
        body = Path(info.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return info if any(p in body for p in mine) else None


def scan_sources(
    server_dir: str | None,
    *,
    env: Mapping[str, str] | None = None,
    process_environments: Sequence[tuple[str, Mapping[str, str]]] = (),
    unit: str = DEFAULT_UNIT,
    unit_path: str | None = None,
    ask_systemd: bool = True,
) -> SourceScan:
    """Find every source for the server at ``server_dir``.

    ``env``: the console's environment (``os.environ`` when None);
    ``process_environments``: (who, environment) of the running server's processes;
    ``unit_path``: the unit file ("" to skip systemd; None: ask systemd, then look);
    ``ask_systemd``: False to look only in the usual unit dirs (runs no command).
    """
    env = os.environ if env is None else env
    info = _unit_for(server_dir, unit_path, unit, ask_systemd)
    files: dict[str, OmeroFile] = {}
    paths = sorted(
        {p for pattern in omero_file_patterns(server_dir, info) for p in glob.glob(pattern)}
    )
    for path in paths:  # `omero load --glob` sorts what the globs give
        if os.path.isfile(path):
            files[path] = read_omero_file(path)
    environments = [("the console's environment", env), *process_environments]
    load_profile = None
    if info is not None:
        unit_env = {n: v for n, v, _ in info.environment}
        load_profile = unit_env.get("OMERO_CONFIG") or None
    return SourceScan(
        tuple(files.values()), tuple(variable_sources(environments)), info, load_profile
    )


def sources_of(scan: SourceScan) -> list[ConfigSource]:
    """The flat list: each ``.omero`` line touching a relocation key (a ``config drop``
    touches them all), each file ``config load`` reads, the variables, the unit's lines."""
    found: list[ConfigSource] = []
    if scan.unit is not None:
        unit = scan.unit
        for name, value, where in unit.environment:
            if name in UNIT_VARIABLES:
                found.append(
                    ConfigSource(
                        "systemd unit", where, name, value, unit.is_template and where == unit.path,
                        None, f"Environment={name}={value}", unit.tool,
                        "the server's unit sets it for every command it runs",
                    )
                )  # fmt: skip
        for command in unit.exec_start_pre:
            if unit.load_patterns:
                found.append(
                    ConfigSource(
                        "systemd unit", unit.path, "ExecStartPre", command, unit.is_template,
                        None, f"ExecStartPre={command}", unit.tool,
                        "loads " + ", ".join(unit.load_patterns) + " at every start",
                    )
                )  # fmt: skip
    for file in scan.files:
        for cmd in file.commands:
            if cmd.verb == "set" and cmd.key in RELOCATION_KEYS:
                found.append(file_source(file, cmd, cmd.key, cmd.value))
            elif cmd.verb == "drop":
                found.append(file_source(file, cmd, "*", None))
            elif cmd.verb == "load":
                for name in cmd.names:
                    for number, key, value in read_properties(name):
                        if key in RELOCATION_KEYS:
                            is_template, tool = is_template_file(name)
                            found.append(
                                ConfigSource(
                                    "properties file", name, key, value, is_template, number,
                                    f"{key}={value}", tool,
                                    f"read by `config load` at {file.path}:{cmd.line}",
                                )
                            )  # fmt: skip
    return [*found, *scan.variables]


def find_config_sources(
    server_dir: str | None,
    *,
    env: Mapping[str, str] | None = None,
    process_environments: Sequence[tuple[str, Mapping[str, str]]] = (),
    unit: str = DEFAULT_UNIT,
    unit_path: str | None = None,
) -> list[ConfigSource]:
    """Every source that will set (or erase) a repository path at the next start.

    Each item says which file or variable (``where``, ``line``) sets which ``key`` to
    which ``value``, and ``is_template`` when a tool will overwrite it. Never raises
    on an unreadable file: it is left out.
    """
    return sources_of(
        scan_sources(
            server_dir, env=env, process_environments=process_environments,
            unit=unit, unit_path=unit_path,
        )
    )  # fmt: skip
