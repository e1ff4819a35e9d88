"""The light or dark theme, remembered in the settings file ([console] theme)."""

from __future__ import annotations

from pathlib import Path

from omero_tui.core.settings import Settings, SettingsError

THEMES = {"dark": "textual-dark", "light": "textual-light"}


def saved_theme(settings_path: Path | None) -> str:
    """ "dark" or "light"; dark when nothing (or nothing valid) is saved."""
    try:
        value = Settings.load(settings_path).get("console", "theme", "dark")
    except SettingsError:
        return "dark"
    return value if value in THEMES else "dark"


def save_theme(settings_path: Path | None, choice: str) -> str | None:
    """Save the choice; returns why it could not be saved, or None."""
    try:
        settings = Settings.load(settings_path)
        settings.set("console", "theme", choice)
        settings.save()
    except SettingsError as err:
        return str(err)
    return None
