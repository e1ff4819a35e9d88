"""Turn the core's frozen dataclasses into JSON for the headless commands."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from omero_tui.core.findings import Finding


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Finding):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
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


def hide_secrets(value: Any) -> Any:
    """The JSON-ready ``value`` with every non-empty value of a secret key hidden."""
    if isinstance(value, Mapping):
        return {
            k: HIDDEN if isinstance(k, str) and is_secret_key(k) and v else hide_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for the headless commands; passwords hidden as `omero config get` does."""
    return json.dumps(hide_secrets(to_jsonable(value)), indent=2, ensure_ascii=False)
