"""Turn the core's frozen records into JSON for the headless commands."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath

from omero_tui.core.findings import Finding
from omero_tui.core.record import fields, is_record

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Finding):
        return value.to_json()
    if is_record(value):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return getattr(value, "label", value.name.lower())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


HIDDEN = "*" * 8


def is_secret_key(key: str) -> bool:
    """OMERO's rule for what `omero config get` hides: a key ending in "pass" or
    "password", whatever the case."""
    lowered = key.lower()
    return lowered.endswith("pass") or lowered.endswith("password")


# ``scheme://user:PASSWORD@`` (up to the last '@' of the word: a raw '@' in a password)
# and a libpq conninfo's ``password=PASSWORD`` (quoted or not).
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):(\S*)@")
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def hide_url_passwords(text: str) -> str:
    """``text`` with the password of every database URL or conninfo in it hidden: a
    ``postgresql://omero:pw@host/db`` names its secret under no ``*pass`` key."""
    if "@" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{HIDDEN}@", text)
    return _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + HIDDEN, text)


def hide_secrets(value: Any) -> Any:
    """The JSON-ready ``value`` with every non-empty value of a secret key hidden, and
    the password of every database URL in a string."""
    if isinstance(value, Mapping):
        return {
            k: HIDDEN if isinstance(k, str) and is_secret_key(k) and v else hide_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    if isinstance(value, str):
        return hide_url_passwords(value)
    return value


def dumps(value: Any) -> str:
    """JSON for the headless commands; passwords hidden as `omero config get` does."""
    return json.dumps(hide_secrets(to_jsonable(value)), indent=2, ensure_ascii=False)
