"""``config get`` / ``config set`` as OMERO's CLI does them, shared by ``omero-tui config``
and the demo sandbox's stand-in ``omero``, so both print exactly the same thing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from omero_tui.core.config.xml_file import (
    IGNORED_KEYS,
    ConfigDocument,
    ConfigError,
    WriteResult,
    validate_key,
    write_config,
)
from omero_tui.core.json_output import HIDDEN, hide_url_passwords
from omero_tui.core.json_output import is_secret_key as is_password_key


def format_get(
    doc: ConfigDocument,
    profile: str,
    keys: Sequence[str],
    hide_password: bool = False,
    hide_single: bool = False,
) -> list[str]:
    """The lines ``omero config get [KEY...]`` prints.

    No key: every ``key=value`` of the profile, sorted, without omero.config.version and
    omero.config.profile. One key: its value alone (nothing if unset). Several keys:
    ``key=value`` for those that are set, sorted. Passwords are hidden only in the
    ``key=value`` forms, as OMERO does; ``hide_single`` hides one key's bare value too
    (omero-tui's own ``config get`` prints no password unless asked).
    """
    props = doc.properties(profile)
    if len(keys) == 1:
        if keys[0] not in props:
            return []
        value = props[keys[0]]
        if hide_single and value and is_password_key(keys[0]):
            return [HIDDEN]
        return [hide_url_passwords(value) if hide_single else value]
    names = sorted(keys) if keys else sorted(k for k in props if k not in IGNORED_KEYS)
    lines = []
    for key in names:
        if key not in props:
            continue
        value = props[key]
        if hide_password and value and is_password_key(key):
            value = HIDDEN
        elif hide_single:  # omero-tui's own: a URL's password is a password too
            value = hide_url_passwords(value)
        lines.append(f"{key}={value}")
    return lines


def apply_set(
    path: Path,
    key: str,
    value: str | None,
    env: Mapping[str, str],
    *,
    lock_timeout: float = 10.0,
    profile: str | None = None,
) -> WriteResult:
    """``omero config set KEY [VALUE]``: set, or delete when value is None.

    Raises ConfigError (one line) for a bad key, a held lock or an unwritable file.
    """
    if "=" in key:
        name, _, rest = key.partition("=")
        hint = f"config set {name} {value if value is not None else rest}".rstrip()
        raise ConfigError(f'illegal property name {key!r}: "=" in key name; did you mean "{hint}"?')
    validate_key(key)
    return write_config(
        Path(path), {key: value}, env=env, lock_timeout=lock_timeout, profile=profile
    )
