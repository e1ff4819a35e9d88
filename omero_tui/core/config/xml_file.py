"""OMERO's ``etc/grid/config.xml``: read, change and write it exactly as OMERO does.

The layout and the regeneration on save mirror omero-py's ``ConfigXml``: OMERO rebuilds
the whole file on every save, so rendering from the parsed model gives the same bytes
it would (apart from the timestamp in the comment). Anything we could not reproduce is
refused rather than silently dropped.
"""

from __future__ import annotations

import functools
import io
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from xml.etree.ElementTree import XML, Comment, Element, ElementTree, ParseError, SubElement

from omero_tui.core.config.lock import LockTimeout, backup, exclusive_lock, replace_file
from omero_tui.core.config.lock import lock_holder as lock_holder  # public here too
from omero_tui.core.record import frozen, replace

VERSION = "5.1.0"
ACTIVE = "__ACTIVE__"
PROFILE_KEY = "omero.config.profile"
VERSION_KEY = "omero.config.version"
IGNORED_KEYS = (VERSION_KEY, PROFILE_KEY)
KEY_PATTERN = re.compile(r"[A-Za-z0-9._-]+")

# Characters outside XML 1.0's Char production cannot be stored in an attribute at all.
_NOT_XML_CHARS = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


@functools.cache
def _not_xml() -> re.Pattern[str]:
    # Compiled on first use: its Unicode ranges cost every command that only reads.
    return re.compile(_NOT_XML_CHARS)


_COMMENT = "\n".join(
    [
        "\n",
        "\tThis file was generated at %s by the OmeroConfig system.",
        "\tDo not edit directly but see `omero config` for details.",
        "\tThis file may be included into your IceGrid application.",
        "\n",
    ]
)
_UPGRADE_HINT = "run `omero config` from the server's own CLI first to upgrade it"

Pairs = tuple[tuple[str, str], ...]


class ConfigError(Exception):
    """Any refusal; ``str(err)`` is one line fit to show an administrator."""


class ConfigFormatError(ConfigError):
    """Malformed XML or a layout OMERO would not have written: never overwritten."""


class ConfigLockedError(ConfigError):
    """``config.xml.lock`` stayed held past the retry window."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@frozen
class ConfigDocument:
    """A parsed config.xml. Immutable; changes produce a new document."""

    stored_profile: str  # omero.config.profile in __ACTIVE__ ("default" if absent)
    profiles: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # file order, no __ACTIVE__
    active_block: tuple[tuple[str, str], ...]  # __ACTIVE__ as found (for consistency checks)

    def profile_names(self) -> list[str]:
        return [name for name, _ in self.profiles]

    def profile_for(self, env: Mapping[str, str]) -> str:
        """OMERO_CONFIG from env if set, else the stored profile."""
        return env.get("OMERO_CONFIG") or self.stored_profile

    def properties(self, profile: str) -> dict[str, str]:
        """All properties of a profile, as OMERO's ``keys()`` sees them ({} if absent)."""
        if profile == ACTIVE:
            return dict(self.active_block)
        return dict(_block(self, profile) or ())


@frozen
class WriteResult:
    path: Path
    backup: Path | None
    before: ConfigDocument
    after: ConfigDocument


# ---------------------------------------------------------------------------- checks


def validate_key(key: str) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ConfigError(f"invalid property name {key!r}: use only A-Z a-z 0-9 . _ -")


def _validate_value(key: str, value: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"value of {key} must be text, not {type(value).__name__}")
    bad = _not_xml().search(value)
    if bad:
        raise ConfigError(f"value of {key} contains {bad.group()!r}, which XML cannot store")


def _validate_profile(profile: str) -> None:
    if not profile or profile == ACTIVE or _not_xml().search(profile):
        raise ConfigError(f"invalid profile name {profile!r}")


def _validate_change(key: str, value: str | None) -> None:
    validate_key(key)
    if key in IGNORED_KEYS:
        raise ConfigError(f"{key} is managed by OMERO itself and cannot be changed here")
    if value is not None:
        _validate_value(key, value)


# ----------------------------------------------------------------------------- model


def _block(doc: ConfigDocument, profile: str) -> Pairs | None:
    for name, pairs in doc.profiles:
        if name == profile:
            return pairs
    return None


def _normalized(doc: ConfigDocument) -> ConfigDocument:
    """The document as it reads back after OMERO saves it."""
    stored = doc.stored_profile
    profiles = doc.profiles
    pairs = _block(doc, stored)
    if pairs is None:  # OMERO creates the stored profile's block right after __ACTIVE__
        pairs = ((VERSION_KEY, VERSION),)
        profiles = ((stored, pairs), *profiles)
    copied = tuple((k, v) for k, v in pairs if k not in IGNORED_KEYS)
    active = ((PROFILE_KEY, stored), (VERSION_KEY, VERSION), *copied)
    return ConfigDocument(stored_profile=stored, profiles=profiles, active_block=active)


def new_config(profile: str = "default") -> ConfigDocument:
    _validate_profile(profile)
    return _normalized(ConfigDocument(stored_profile=profile, profiles=(), active_block=()))


def _apply(pairs: Pairs, key: str, value: str | None) -> Pairs:
    if value is None:
        return tuple((k, v) for k, v in pairs if k != key)
    if all(k != key for k, _ in pairs):
        return (*pairs, (key, value))
    # In place, like OMERO; later duplicates (hand edits) go, so the value set is the one read.
    out: list[tuple[str, str]] = []
    for k, v in pairs:
        if k != key:
            out.append((k, v))
        elif all(k2 != key for k2, _ in out):
            out.append((k, value))
    return tuple(out)


def with_changes(
    doc: ConfigDocument, profile: str, changes: Mapping[str, str | None]
) -> ConfigDocument:
    _validate_profile(profile)
    for key, value in changes.items():
        _validate_change(key, value)
    profiles = list(doc.profiles)
    index = next((i for i, (name, _) in enumerate(profiles) if name == profile), None)
    if index is None:
        if all(value is None for value in changes.values()):
            return _normalized(doc)  # deleting from a profile that does not exist
        profiles.append((profile, ((VERSION_KEY, VERSION),)))  # OMERO appends new profiles
        index = len(profiles) - 1
    pairs = profiles[index][1]
    for key, value in changes.items():
        pairs = _apply(pairs, key, value)
    profiles[index] = (profile, pairs)
    return _normalized(replace(doc, profiles=tuple(profiles)))


# --------------------------------------------------------------------------- parsing


def parse_config(text: str | bytes, source: str = "config.xml") -> ConfigDocument:
    if not text:  # OMERO treats an empty file as a new one
        return new_config()
    try:
        root = XML(text)
    except (ParseError, ValueError) as err:
        raise ConfigFormatError(f"{source}: not well-formed XML ({err})") from None
    if root.tag != "icegrid":
        raise ConfigFormatError(f"{source}: root element is <{root.tag}>, not <icegrid>")
    blocks: dict[str, Pairs] = {}
    for child in root:
        if child.tag == "properties":
            name = _block_id(child, blocks, source)
            blocks[name] = _parse_block(child, name, source)
        elif child.tag != "include":  # OMERO drops includes and writes its own
            raise ConfigFormatError(f"{source}: unexpected element <{child.tag}> in <icegrid>")
    active = blocks.pop(ACTIVE, ())
    stored = dict(active).get(PROFILE_KEY, "default")
    if not stored or stored == ACTIVE:
        raise ConfigFormatError(f"{source}: __ACTIVE__ names an invalid profile {stored!r}")
    return ConfigDocument(stored, tuple(blocks.items()), active)


def _block_id(element: Element, seen: Mapping[str, Pairs], source: str) -> str:
    name = element.get("id")
    if not name:
        raise ConfigFormatError(f"{source}: a <properties> block has no id")
    extra = set(element.attrib) - {"id"}
    if extra and name != ACTIVE:  # OMERO writes a profile's block back as read, these too
        raise ConfigFormatError(
            f"{source}: profile {name!r} has an unexpected attribute {sorted(extra)[0]!r}"
        )
    if name in seen:
        what = "more than one __ACTIVE__ block" if name == ACTIVE else f"profile {name!r} twice"
        raise ConfigFormatError(f"{source}: {what}")
    return name


def _parse_block(element: Element, profile: str, source: str) -> Pairs:
    pairs: list[tuple[str, str]] = []
    where = f"{source}: profile {profile!r}"
    for prop in element:
        if prop.tag != "property":
            raise ConfigFormatError(f"{where}: unexpected element <{prop.tag}>")
        extra = set(prop.attrib) - {"name", "value"}
        if extra:
            raise ConfigFormatError(f"{where}: unexpected attribute {sorted(extra)[0]!r}")
        name = prop.get("name")
        if name is None:
            raise ConfigFormatError(f"{where}: a <property> has no name")
        value = prop.get("value", "")  # OMERO reads a missing value as ""
        if name == VERSION_KEY and value != VERSION:
            raise ConfigFormatError(
                f"{where} has version {value!r}, not {VERSION}; {_UPGRADE_HINT}"
            )
        pairs.append((name, value))
    return tuple(pairs)


def read_config(path: Path) -> ConfigDocument:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    return parse_config(data, str(path))


# ------------------------------------------------------------------------- rendering


def render_config(doc: ConfigDocument) -> bytes:
    doc = _normalized(doc)
    icegrid = Element("icegrid")
    icegrid.append(Comment(_COMMENT % time.ctime()))
    for name, pairs in ((ACTIVE, doc.active_block), *doc.profiles):
        if name != ACTIVE:
            _validate_profile(name)
        block = SubElement(icegrid, "properties", id=name)
        for key, value in pairs:
            # Hand-built documents too: ElementTree would write these characters raw.
            if _not_xml().search(key):
                raise ConfigError(f"invalid property name {key!r}")
            _validate_value(key, value)
            SubElement(block, "property", name=key, value=value)
    SubElement(icegrid, "include", file="templates.xml")
    out = io.BytesIO()
    # "UTF-8" exactly as OMERO passes it: no XML declaration, one line.
    ElementTree(icegrid).write(out, encoding="UTF-8")
    return out.getvalue()


# --------------------------------------------------------------------------- writing


def write_config(
    path: Path,
    changes: Mapping[str, str | None],
    *,
    env: Mapping[str, str] | None = None,
    lock_timeout: float = 10.0,
    expect: ConfigDocument | None = None,
    profile: str | None = None,
) -> WriteResult:
    """Apply ``changes`` to ``profile`` (default: the one ``omero config`` would use)."""
    path = Path(path)
    env = os.environ if env is None else env
    for key, value in changes.items():
        _validate_change(key, value)
    if not path.parent.is_dir():
        raise ConfigError(f"{path.parent}: directory not found; nothing written")
    lock_path = path.with_name(path.name + ".lock")
    try:
        with exclusive_lock(lock_path, lock_timeout):
            return _write_locked(path, changes, env, expect, profile)
    except LockTimeout as err:
        who = err.holder or "another process"
        message = f"{lock_path} is held by {who}; gave up after {lock_timeout:g} s, nothing written"
        raise ConfigLockedError(message, err.holder) from None
    except OSError as err:
        where = err.filename or path
        raise ConfigError(
            f"cannot update {where}: {err.strerror or err}; nothing written"
        ) from None


def _write_locked(
    path: Path,
    changes: Mapping[str, str | None],
    env: Mapping[str, str],
    expect: ConfigDocument | None,
    profile: str | None = None,
) -> WriteResult:
    # Read only now, under the lock, so nobody's change slips in between read and write.
    data = path.read_bytes() if path.exists() else None
    on_disk = None if data is None else parse_config(data, str(path))
    if expect is not None and expect != on_disk:
        raise ConfigError(f"{path.name} changed since it was read; nothing written")
    # Like OMERO, a missing or empty file starts anew with the profile it is asked to use.
    if on_disk is not None and data:
        before = on_disk
    else:
        before = new_config(profile or env.get("OMERO_CONFIG") or "default")
    if data is not None and not os.access(path, os.W_OK):
        raise ConfigError(f"{path} is read-only; nothing written")
    after = with_changes(before, profile or before.profile_for(env), changes)
    rendered = render_config(after)
    saved = backup(path) if data is not None else None
    replace_file(path, rendered, like=path if data is not None else None)
    return WriteResult(path, saved, before, after)
