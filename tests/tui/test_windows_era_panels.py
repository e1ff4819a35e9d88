"""The console opened on a Windows-era config.xml read on Linux (``D:\\\\OMERO`` as Ice
escapes it, or a bare ``C:\\OMERO`` written by hand): every panel, and the relocation
wizard, is read whole from a working directory whose name is looked for in every text,
so no path can have been joined with it, nor a Windows path with a POSIX ``/``."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.commands.context import find
from omero_tui.commands.tui_cmd import console_sources
from omero_tui.tui.app import OmeroTuiApp
from tests.appkit import every_panel_text, settle, widget_text
from tests.deployments.kit import CWD_MARK, world_readable_root

SAMPLE = Path(__file__).parents[1] / "fixtures" / "config-samples" / "windows-escaped.xml"
# A Windows path continued with a POSIX separator: a Windows value joined like a local one.
POSIX_JOIN = re.compile(r"[A-Za-z]:\\[^\s/]*/")


def ice_escaped(text: str) -> str:
    """The sample as OMERO on Windows wrote it, plus the memoizer dir."""
    return text.replace(
        '<property name="omero.managed.dir"',
        '<property name="omero.pixeldata.memoizer.dir" value="D:\\\\OMERO\\\\BioFormatsCache" />'
        '<property name="omero.managed.dir"',
    )


def bare(text: str) -> str:
    """Single backslashes, as an admin types them by hand (Ice reads ``\\O`` as ``\\O``)."""
    return text.replace("D:\\\\OMERO\\\\", "C:\\OMERO\\").replace("D:\\\\OMERO", "C:\\OMERO")


@pytest.fixture(params=[ice_escaped, bare], ids=["ice-escaped", "bare"])
def windows_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    root = world_readable_root()
    server = root / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    (server / "etc" / "grid" / "config.xml").write_text(request.param(SAMPLE.read_text()))
    (server / "etc" / "grid" / "templates.xml").write_text("<icegrid/>\n")
    cwd = root / CWD_MARK
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("OMERODIR", "OMERO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield server, "D:\\OMERO" if request.param is ice_escaped else "C:\\OMERO"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def app_on(server: Path) -> OmeroTuiApp:
    """The console as ``omero-tui --server-dir SERVER`` opens it (the product's own wiring)."""
    state = server.parent / "state"
    args = argparse.Namespace(
        server_dir=str(server), data_dir=None, settings=str(server.parent / "none.toml")
    )
    sources = console_sources(lambda: find(args), settings_path=None, state_dir=state)
    return OmeroTuiApp(sources)


def assert_no_local_join(where: str, text: str) -> None:
    assert CWD_MARK not in text, (where, text)
    assert not POSIX_JOIN.search(text), (where, POSIX_JOIN.search(text), text)
    assert "Traceback" not in text, (where, text)


async def test_every_panel_and_the_wizard_show_windows_paths_without_joining_them(
    windows_server: tuple[Path, str],
) -> None:
    server, windows = windows_server
    app = app_on(server)
    async with app.run_test(size=(120, 40)) as pilot:
        texts = await every_panel_text(pilot)
        app.action_relocate()
        await settle(pilot)
        await pilot.press(*"/srv/new-OMERO")  # typed ahead while the wizard opens
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        wizard = type(app.screen).__name__
        texts[wizard] = "\n".join(widget_text(w) for w in app.screen.query("*"))
    assert wizard == "RelocationWizard", wizard
    refusal = " ".join(texts[wizard].split())
    assert f"Refused: the repository {windows} is a Windows path" in refusal, refusal
    assert "omero.managed.dir" in refusal
    for where, text in texts.items():
        assert_no_local_join(where, text)
    layout = " ".join(texts["tab-layout"].split())
    assert f"{windows} is a Windows path" in layout, layout
    assert "Pixels Windows path" in layout and f"Data dir {windows} " in layout
    for tab in ("tab-overview", "tab-usage", "tab-locks", "tab-perms"):
        assert windows in texts[tab], (tab, texts[tab])
    # Not judged is UNKNOWN in words, not an error, and no reason says what is untrue.
    usage = texts["tab-usage"]
    assert "UNKNOWN  Not judged" in usage and "Error" not in usage, usage
    assert "no server dir or process was found" not in texts["tab-perms"]
    assert "holders from not looked for" not in texts["tab-locks"]
