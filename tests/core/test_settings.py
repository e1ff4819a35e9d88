"""The tool's own TOML settings keep the admin's comments and order."""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.settings import Settings, SettingsError, default_settings_path

HAND_WRITTEN = """\
# my notes: the omero box
[thresholds]
days_warn = 90  # we order disks slowly

[server]
# installed by ansible
dir = "/opt/omero/server/OMERO.server"
"""


def test_defaults_when_missing(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "none.toml")
    assert not settings.exists
    assert settings.server_dir is None
    assert settings.threshold("free_warn_percent") == 15.0


def test_edit_keeps_comments_and_order(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(HAND_WRITTEN)
    settings = Settings.load(path)
    assert settings.server_dir == "/opt/omero/server/OMERO.server"
    assert settings.threshold("days_warn") == 90
    settings.set("server", "user", "omero-server")
    settings.save()
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.rstrip("\n"))
    assert 'user = "omero-server"' in text
    assert Settings.load(path).server_user == "omero-server"


def test_bad_toml_and_bad_control_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[server\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.load(path)
    with pytest.raises(SettingsError, match="control must be"):
        Settings.load(tmp_path / "x.toml").set("server", "control", "telnet")


def test_xdg_config_home(tmp_path: Path) -> None:
    path = default_settings_path({"XDG_CONFIG_HOME": str(tmp_path)})
    assert path == tmp_path / "omero-tui" / "settings.toml"
