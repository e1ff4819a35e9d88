"""Where is the server, its configuration and its repository, and how do we know.

Every path comes with the reason it was chosen, because an admin looking at a
console that points at the wrong repository needs to see why at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from omero_tui.core.config import ice_values

DATA_DIR_KEY = "omero.data.dir"
MANAGED_DIR_KEY = "omero.managed.dir"

# Where OMERO.server is commonly installed: the reference Ansible role's symlink first.
COMMON_SERVER_DIRS: tuple[str, ...] = (
    "/opt/omero/server/OMERO.server",
    "/opt/omero/OMERO.server",
    "/opt/OMERO.server",
    "/home/omero/OMERO.server",
    "/home/omero-server/OMERO.server",
    "/usr/local/OMERO.server",
    r"C:\OMERO.server",
)


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


def platform_default_data_dir(platform: str = sys.platform) -> str:
    return r"C:\OMERO" if platform == "win32" else "/OMERO"


def config_path_of(server_dir: str) -> Path:
    return Path(server_dir) / "etc" / "grid" / "config.xml"


def looks_like_server_dir(path: str | Path) -> bool:
    """An OMERO.server install has ``etc/grid`` (templates.xml and, once configured, config.xml)."""
    return (Path(path) / "etc" / "grid").is_dir()


def find_server_dir(
    server_dir_arg: str | None,
    env: Mapping[str, str],
    settings_server_dir: str | None,
    settings_path: str | None = None,
    candidates: Sequence[str] = COMMON_SERVER_DIRS,
) -> Determined:
    if server_dir_arg:
        return Determined(_absolute(server_dir_arg), "from --server-dir")
    if env.get("OMERODIR"):
        return Determined(_absolute(env["OMERODIR"]), "from OMERODIR")
    if settings_server_dir:
        where = f" {settings_path}" if settings_path else ""
        return Determined(_absolute(settings_server_dir), f"from the settings file{where}")
    for candidate in candidates:
        if looks_like_server_dir(candidate):
            return Determined(candidate, "found at a common install location")
    return Determined(None, "not found: use --server-dir, OMERODIR or the settings file")


def discover(
    *,
    server_dir_arg: str | None = None,
    data_dir_arg: str | None = None,
    settings_server_dir: str | None = None,
    settings_path: str | None = None,
    env: Mapping[str, str] | None = None,
    candidates: Sequence[str] = COMMON_SERVER_DIRS,
    platform: str = sys.platform,
    demo: bool = False,
) -> ServerLocation:
    env = os.environ if env is None else env
    server_dir = find_server_dir(
        server_dir_arg, env, settings_server_dir, settings_path, candidates
    )
    config_path: str | None = None
    config_error: str | None = None
    raw: dict[str, str] = {}
    profile = Determined(None, "no configuration read")
    if server_dir.value:
        # Here, not at the top: a command given only --data-dir reads no config.xml.
        from omero_tui.core.config.xml_file import ConfigError, read_config

        path = config_path_of(server_dir.value)
        config_path = str(path)
        try:
            doc = read_config(path)
        except ConfigError as err:
            config_error = str(err)
        else:
            name = doc.profile_for(env)
            how = "from OMERO_CONFIG" if env.get("OMERO_CONFIG") else "stored in config.xml"
            profile = Determined(name, how)
            raw = doc.properties(name)

    data_dir = _data_dir(data_dir_arg, raw, profile, platform)
    # Resolution sees the data dir actually in use, so ${omero.data.dir} follows --data-dir.
    context = {**raw, DATA_DIR_KEY: data_dir.value or ""}
    properties = {k: ice_values.resolve(ice_values.unescape(v), context) for k, v in raw.items()}
    properties[DATA_DIR_KEY] = data_dir.value or ""
    managed_dir = _managed_dir(raw, context, data_dir, platform)
    return ServerLocation(
        server_dir=server_dir,
        config_path=config_path,
        profile=profile,
        data_dir=data_dir,
        managed_dir=managed_dir,
        properties=properties,
        config_error=config_error,
        demo=demo,
    )


def _data_dir(
    arg: str | None, raw: Mapping[str, str], profile: Determined, platform: str
) -> Determined:
    # The profile's name is shown on its own row, so reasons stay short enough for 80 columns.
    if arg:
        return Determined(_absolute(arg), "from --data-dir")
    if raw.get(DATA_DIR_KEY):
        value = ice_values.resolve(ice_values.unescape(raw[DATA_DIR_KEY]), raw)
        return Determined(value, f"{DATA_DIR_KEY} in config.xml")
    default = platform_default_data_dir(platform)
    reason = "no configuration read" if profile.value is None else f"{DATA_DIR_KEY} not set"
    return Determined(default, f"OMERO's default: {reason}")


def _managed_dir(
    raw: Mapping[str, str],
    context: Mapping[str, str],
    data_dir: Determined,
    platform: str,
) -> Determined:
    if raw.get(MANAGED_DIR_KEY):
        value = ice_values.resolve(ice_values.unescape(raw[MANAGED_DIR_KEY]), context)
        return Determined(value, f"{MANAGED_DIR_KEY} in config.xml")
    base = data_dir.value or platform_default_data_dir(platform)
    joined = (
        str(PureWindowsPath(base) / "ManagedRepository")
        if platform == "win32"
        else os.path.join(base, "ManagedRepository")
    )
    return Determined(joined, f"OMERO's default: {MANAGED_DIR_KEY} not set")


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))
