"""Point config.xml at the new location: planned from the old values, written under
OMERO's lock with a backup, undone byte for byte.

What changes: ``omero.data.dir`` (or ``omero.managed.dir`` for a managed-only move),
plus each of ``omero.managed.dir``, ``omero.pixeldata.memoizer.dir`` and
``omero.fs.watchDir`` that is set explicitly to a path under the old location. A value
written as ``${omero.data.dir}/...`` follows by itself and is left alone, as is every
other property. Values are stored Ice-escaped (``D:\\\\OMERO``), so the server reads back
exactly the path given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PureWindowsPath

from omero_tui.core.config import ice_values
from omero_tui.core.config.lock import LockTimeout, exclusive_lock, replace_file
from omero_tui.core.config.windows_paths import config_value, looks_like_windows_path
from omero_tui.core.config.xml_file import (
    ConfigDocument,
    ConfigLockedError,
    WriteResult,
    write_config,
)
from omero_tui.core.record import frozen

DATA_KEY = "omero.data.dir"
MANAGED_KEY = "omero.managed.dir"
FOLLOWER_KEYS = (MANAGED_KEY, "omero.pixeldata.memoizer.dir", "omero.fs.watchDir")
LOCK_TIMEOUT_S = 60.0


@frozen
class ConfigChange:
    key: str
    old: str | None  # the raw value in config.xml; None when it was not set
    new: str  # the raw value to store (Ice-escaped)
    path: str  # the path the server will see
    why: str  # one line

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "old": self.old, "new": self.new, "path": self.path}


def main_key(what: str) -> str:
    return DATA_KEY if what == "data" else MANAGED_KEY


def _join(target: str, rel: str) -> str:
    if not rel:
        return target
    if looks_like_windows_path(target):
        return str(PureWindowsPath(target) / PureWindowsPath(rel))
    return os.path.join(target, rel)


def planned_changes(
    doc: ConfigDocument,
    profile: str,
    what: str,
    source: str,
    target: str,
    *,
    data_dir: str,
) -> tuple[ConfigChange, ...]:
    """The properties to set for moving ``source`` to ``target``.

    ``data_dir`` is the data dir in use now (it resolves ``${omero.data.dir}``).
    """
    raw = doc.properties(profile)
    key = main_key(what)
    moved = f"{key} names the moved directory"
    changes = [ConfigChange(key, raw.get(key), config_value(target), target, moved)]
    context = {**raw, DATA_KEY: data_dir}
    for follower in FOLLOWER_KEYS:
        if follower == key or not raw.get(follower):
            continue
        value = raw[follower]
        if what == "data" and "${" + DATA_KEY + "}" in value:
            continue  # follows omero.data.dir by itself
        resolved = ice_values.resolve(ice_values.unescape(value), context)
        rel = relative_under(resolved, source)
        if rel is None:
            continue
        new_path = _join(target, rel)
        changes.append(
            ConfigChange(
                follower,
                value,
                config_value(new_path),
                new_path,
                f"{follower} is set to {resolved}, inside the moved directory",
            )
        )
    return tuple(changes)


def relative_under(path: str, top: str) -> str | None:
    """The part of ``path`` below ``top`` ("" when equal), or None when it is outside."""
    windows = looks_like_windows_path(top) or looks_like_windows_path(path)
    if windows:
        p, t = PureWindowsPath(path), PureWindowsPath(top)
        parts_p = [x.lower() for x in p.parts]
        parts_t = [x.lower() for x in t.parts]
        if parts_p[: len(parts_t)] != parts_t:
            return None
        below = p.parts[len(parts_t) :]
        return str(PureWindowsPath(*below)) if below else ""
    p, t = os.path.normpath(path), os.path.normpath(top)
    if p == t:
        return ""
    if p.startswith(t.rstrip(os.sep) + os.sep):
        return p[len(t.rstrip(os.sep)) + 1 :]
    return None


def apply_changes(
    config_path: str,
    changes: tuple[ConfigChange, ...],
    *,
    expect: ConfigDocument | None,
    env: Mapping[str, str] | None = None,
    lock_timeout: float = LOCK_TIMEOUT_S,
    profile: str | None = None,
) -> WriteResult:
    """Write the changes under OMERO's lock, with a backup; ConfigError (one line) if not.

    ``profile`` is the plan's: an OMERO_CONFIG in the environment must not send the
    new path to a profile the server does not read.
    """
    return write_config(
        Path(config_path),
        {c.key: c.new for c in changes},
        env=env,
        lock_timeout=lock_timeout,
        expect=expect,
        profile=profile,
    )


def restore_config(
    config_path: str, original: bytes, *, lock_timeout: float = LOCK_TIMEOUT_S
) -> bool:
    """Put back the exact original bytes under OMERO's lock; False when already so."""
    path = Path(config_path)
    lock = path.with_name(path.name + ".lock")
    try:
        with exclusive_lock(lock, lock_timeout):
            try:
                if path.read_bytes() == original:
                    return False
            except FileNotFoundError:
                pass
            replace_file(path, original, like=path if path.exists() else None)
            return True
    except LockTimeout as err:
        who = err.holder or "another process"
        raise ConfigLockedError(
            f"{lock} is held by {who}; gave up after {lock_timeout:g} s, config.xml not restored",
            err.holder,
        ) from None


def config_dir_names(config_path: str) -> list[str]:
    """The names in config.xml's directory, recorded before the rewrite."""
    return sorted(os.listdir(os.path.dirname(config_path)))


def writer_leftovers(config_path: str, names_before: list[str], original: bytes) -> list[str]:
    """Files a config writer killed half way leaves next to config.xml and that were not
    there before the relocation: its temporary backup (``.config.xml.bak-*``), its
    ``config.xml.temp``, and finished backups that hold exactly the original bytes.
    Anything else in the directory is not ours and is never listed."""
    folder, name = os.path.split(config_path)
    temp_backup = re.compile(re.escape(f".{name}.bak-") + r".+")
    backup = re.compile(re.escape(f"{name}.bak-") + r"\d{8}T\d{6}Z(?:-\d+)?")
    found = []
    before = set(names_before)
    for entry in sorted(set(os.listdir(folder)) - before):
        path = os.path.join(folder, entry)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        if temp_backup.fullmatch(entry) or entry == f"{name}.temp":
            found.append(path)
        elif backup.fullmatch(entry):
            try:
                if Path(path).read_bytes() == original:
                    found.append(path)
            except OSError:
                continue
    return found


def remove_stale_lock(config_path: str, names_before: list[str] | None) -> bool:
    """Delete a ``config.xml.lock`` that was not there before the relocation and that
    nobody holds; True if one was removed.

    OMERO deletes the file when it lets go of the lock. An ``omero admin start`` the
    engine ran and that was killed with it (found by tests/faults: SIGKILL of the
    engine's process group during the start) leaves it behind, and a resume that finds
    the server already up never runs a command that would tidy it.
    """
    lock = Path(config_path + ".lock")
    if names_before is None or lock.name in names_before or not lock.exists():
        return False
    try:
        with exclusive_lock(lock, 0.0):  # deletes it on the way out, as OMERO does
            pass
    except (LockTimeout, OSError):
        return False  # held: someone is using it right now
    return True
