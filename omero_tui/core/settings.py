"""The console's own settings, a TOML file the admin may also edit by hand.

tomlkit keeps the admin's comments, order and formatting when the console changes a
value, so a hand-annotated settings file survives the tool.
"""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.record import field, mutable

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    from tomlkit.toml_document import TOMLDocument

CONTROL_METHODS = ("omero", "systemd", "custom", "manual")

# Sensible defaults for headroom verdicts; the usage panel reads them from here.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "free_warn_percent": 15.0,
    "free_critical_percent": 5.0,
    "days_warn": 60.0,
    "days_critical": 14.0,
}

_TEMPLATE = """\
# omero-tui settings. Edit freely: the console keeps your comments and order.

[server]
# dir = "/opt/omero/server/OMERO.server"   # the OMERO.server install dir (OMERODIR)
# user = "omero-server"                    # the user the server runs as
# control = "omero"                        # omero | systemd | custom | manual

[thresholds]
# free_warn_percent = 15
# free_critical_percent = 5
# days_warn = 60
# days_critical = 14
"""


class SettingsError(Exception):
    """A settings file that cannot be read or written; one line for the admin."""


def default_settings_path(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "omero-tui" / "settings.toml"


def default_state_dir(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "omero-tui"


# A demo sandbox keeps its state (caches, history, journals, undo records) beside it,
# never in the admin's own state dir; its root holds this marker.
DEMO_MARKER = ".omero-tui-demo"
DEMO_STATE_DIR = "omero-tui-state"


def demo_state_dir(server_dir: str | None) -> Path | None:
    """The state dir of the demo sandbox ``server_dir`` belongs to, if it keeps one.

    ``omero-tui demo`` (and ``--demo``) make it when they build or open a sandbox; a
    sandbox built otherwise (by a test, say) has none, and its commands use the default.
    """
    if not server_dir:
        return None
    root = Path(server_dir).parent
    state = root / DEMO_STATE_DIR
    return state if (root / DEMO_MARKER).is_file() and state.is_dir() else None


def state_dir_for(
    server_dir: str | None, env: os._Environ[str] | dict[str, str] | None = None
) -> Path:
    """The one state dir of a server, whoever opens it: the console, ``check``, ``usage``,
    ``relocate``... A journal or a scan made by one is then seen by all the others, for a
    real server (the admin's state dir) and for a kept demo sandbox (its own)."""
    return demo_state_dir(server_dir) or default_state_dir(env)


@mutable
class Settings:
    """Read with the standard library's tomllib; the comment-keeping tomlkit document is
    made only to change the file (headless commands never pay for importing it)."""

    path: Path
    text: str
    exists: bool
    values: dict[str, Any] = field(default_factory=dict)
    _document: TOMLDocument | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or default_settings_path()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            # The template's tables, empty (its settings are comments): nothing to parse.
            return cls(path, _TEMPLATE, False, {"server": {}, "thresholds": {}})
        except OSError as err:
            raise SettingsError(f"cannot read settings {path}: {err.strerror}") from err
        import tomllib  # only with a file to read

        try:
            return cls(path, text, True, tomllib.loads(text))
        except tomllib.TOMLDecodeError as err:
            raise SettingsError(f"settings {path} is not valid TOML: {err}") from err

    @property
    def document(self) -> TOMLDocument:
        if self._document is None:
            import tomlkit

            self._document = tomlkit.parse(self.text)
        return self._document

    def get(self, section: str, key: str, default: Any = None) -> Any:
        if self._document is not None:  # changed since loading: the document is the truth
            table = self._document.get(section)
            if table is None or key not in table:
                return default
            value = table[key]
            return value.unwrap() if hasattr(value, "unwrap") else value
        table = self.values.get(section)
        if not isinstance(table, dict) or key not in table:
            return default
        return table[key]

    @property
    def server_dir(self) -> str | None:
        return self.get("server", "dir")

    @property
    def server_user(self) -> str | None:
        return self.get("server", "user")

    @property
    def control(self) -> str | None:
        return self.get("server", "control")

    @property
    def systemd_unit(self) -> str | None:
        return self.get("server", "systemd_unit")

    @property
    def start_command(self) -> str | list[str] | None:
        return self.get("server", "start_command")

    @property
    def stop_command(self) -> str | list[str] | None:
        return self.get("server", "stop_command")

    def threshold(self, name: str) -> float:
        return float(self.get("thresholds", name, DEFAULT_THRESHOLDS[name]))

    def set(self, section: str, key: str, value: Any) -> None:
        if section == "server" and key == "control" and value not in CONTROL_METHODS:
            raise SettingsError(f"control must be one of {', '.join(CONTROL_METHODS)}")
        import tomlkit

        if section not in self.document:
            self.document.add(section, tomlkit.table())
        self.document[section][key] = value  # type: ignore[index]

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        import tomlkit

        text = tomlkit.dumps(self.document)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = self.path.stat().st_mode & 0o7777 if self.path.exists() else None
            write_atomic(self.path, text.encode("utf-8"), mode=mode)
        except OSError as err:
            raise SettingsError(f"cannot write settings {self.path}: {err.strerror}") from err
        self.exists = True
