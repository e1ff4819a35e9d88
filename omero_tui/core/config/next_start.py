"""What the active profile holds once the next start has reloaded every source.

``omero load`` runs the ``.omero`` files (in glob order) on top of config.xml, then the
Docker image sets its ``CONFIG_*`` variables. A relocation compares what it writes
with what survives that, key by key, and names the source that decides each one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from omero_tui.core.config import ice_values
from omero_tui.core.config.omero_files import (
    OmeroCommand,
    OmeroFile,
    is_template_file,
    read_properties,
)
from omero_tui.core.config.sources import (
    DATA_DIR_KEY,
    RELOCATION_KEYS,
    ConfigSource,
    SourceScan,
    file_source,
)
from omero_tui.core.record import frozen

# Defaults OMERO uses when the key is unset (omero.fs.watchDir has none).
_DEFAULTS = {
    "omero.managed.dir": "${omero.data.dir}/ManagedRepository",
    "omero.pixeldata.memoizer.dir": "${omero.data.dir}/BioFormatsCache",
}


def apply_commands(
    props: Mapping[str, str],
    commands: Iterable[OmeroCommand],
    *,
    profile: str,
    load_profile: str | None = None,
) -> dict[str, str]:
    """The active profile's properties after running ``commands`` (as ``omero load``).

    ``profile`` is the active (stored) profile; ``load_profile`` the one the commands
    write to (OMERO_CONFIG of whoever runs them), when it differs, their ``set``s do not
    reach the active profile, while a ``config drop`` of it still does.
    """
    result, _ = _apply(dict(props), commands, profile, load_profile, None)
    return result


def _apply(
    props: dict[str, str],
    commands: Iterable[OmeroCommand],
    profile: str,
    load_profile: str | None,
    file: OmeroFile | None,
    decided: dict[str, ConfigSource] | None = None,
) -> tuple[dict[str, str], dict[str, ConfigSource]]:
    decided = {} if decided is None else decided
    writes_active = load_profile in (None, profile)
    for cmd in commands:
        if cmd.verb == "drop" and cmd.names[0] == profile:
            for key in list(props):
                decided[key] = file_source(file, cmd, "*", None)
            props.clear()
        elif cmd.verb == "set" and writes_active and cmd.key:
            if cmd.value is None:
                props.pop(cmd.key, None)
            else:
                props[cmd.key] = cmd.value
            decided[cmd.key] = file_source(file, cmd, cmd.key, cmd.value)
        elif cmd.verb == "load" and writes_active:
            for name in cmd.names:
                for number, key, value in read_properties(name):
                    props[key] = value
                    decided[key] = ConfigSource(
                        "properties file", name, key, value, is_template_file(name)[0],
                        number, f"{key}={value}", is_template_file(name)[1],
                        f"read by `config load` at {_where(file, cmd)}",
                    )  # fmt: skip
    return props, decided


def _where(file: OmeroFile | None, cmd: OmeroCommand) -> str:
    return f"{file.path}:{cmd.line}" if file else f"line {cmd.line}"


def after_next_start(
    scan: SourceScan, props: Mapping[str, str], profile: str
) -> tuple[dict[str, str], dict[str, ConfigSource]]:
    """(the active profile once a start has reloaded every source, the source that
    decided each key it touched). ``props`` is what config.xml holds before the start."""
    result = dict(props)
    decided: dict[str, ConfigSource] = {}
    for file in scan.files:
        result, decided = _apply(result, file.commands, profile, scan.load_profile, file, decided)
    for source in scan.variables:  # the image sets them after loading the .omero files
        if source.value is not None:
            result[source.key] = source.value
            decided[source.key] = source
    return result, decided


def effective_paths(
    props: Mapping[str, str], default_data_dir: str = "/OMERO"
) -> dict[str, str | None]:
    """Each relocation key as the server resolves it (defaults and ``${...}`` included)."""
    context = dict(props)
    context.setdefault(DATA_DIR_KEY, default_data_dir)
    data = ice_values.resolve(ice_values.unescape(context[DATA_DIR_KEY]), context)
    context[DATA_DIR_KEY] = data
    paths: dict[str, str | None] = {DATA_DIR_KEY: os.path.normpath(data) if data else data}
    for key in RELOCATION_KEYS[1:]:
        raw = props.get(key) or _DEFAULTS.get(key)
        if not raw:
            paths[key] = None
            continue
        value = ice_values.resolve(ice_values.unescape(raw), context)
        paths[key] = os.path.normpath(value) if value else value
    return paths


@frozen
class Reverted:
    """A key the next start would set to something else than intended."""

    key: str
    intended: str | None  # the path the server should use
    restored: str | None  # the path it would use after the start
    source: ConfigSource | None  # who decided it (None: no source touched it)


def reverted_keys(
    scan: SourceScan,
    props: Mapping[str, str],
    profile: str,
    *,
    default_data_dir: str = "/OMERO",
) -> list[Reverted]:
    """The relocation keys whose path changes when the next start reloads the sources
    on top of ``props`` (what config.xml holds, or will hold after a rewrite)."""
    after, decided = after_next_start(scan, props, profile)
    before_paths = effective_paths(props, default_data_dir)
    after_paths = effective_paths(after, default_data_dir)
    found = []
    for key in RELOCATION_KEYS:
        if before_paths[key] == after_paths[key]:
            continue
        source = decided.get(key) or decided.get(DATA_DIR_KEY)
        found.append(Reverted(key, before_paths[key], after_paths[key], source))
    return found
