"""The CLI and the console share one state dir for a kept demo (#14, items 2 and 4).

Real processes for the commands (``python -m omero_tui``), the console's own sources
and Overview for the other side; the journal is written with the engine's Journal.
"""

from __future__ import annotations

from pathlib import Path

from omero_tui.commands.tui_cmd import console_sources
from omero_tui.core.discovery import discover
from omero_tui.core.settings import DEMO_STATE_DIR, state_dir_for
from omero_tui.tui.app import OmeroTuiApp
from tests.appkit import settle
from tests.wizardkit import interrupted_journal, omero_tui


async def test_a_kept_demo_has_one_state_for_the_console_and_every_command(
    tmp_path: Path,
) -> None:
    root = tmp_path / "kept"
    built = omero_tui("demo", "--dir", str(root), "--no-tui", xdg=tmp_path)
    assert built.returncode == 0, built.stderr
    server = root / "OMERO.server"
    state = root / DEMO_STATE_DIR
    # What the console opens a kept demo with (`omero-tui demo --dir`, or the console
    # pointed at its server dir) is where the commands look.
    assert state_dir_for(str(server)) == state

    scanned = omero_tui("usage", "--quick", xdg=tmp_path, omerodir=server)
    assert scanned.returncode in (0, 1, 2), scanned.stderr
    assert list((state / "usage").glob("*.scan")), "the scan is not in the sandbox's state"
    assert not (tmp_path / "state" / "omero-tui").exists(), "the admin's own state was used"

    rid = interrupted_journal(state, root)  # as the console's wizard leaves it
    looked = omero_tui("relocate", "--resume", "--dry-run", xdg=tmp_path, omerodir=server)
    assert looked.returncode == 0, looked.stderr
    assert rid in looked.stdout
    checked = omero_tui("check", "--cached", xdg=tmp_path, omerodir=server)
    assert checked.returncode != 0
    assert f"The server is stopped: relocation {rid} stopped it and was cancelled" in " ".join(
        checked.stdout.split()
    )

    location = lambda: discover(server_dir_arg=str(server), env={}, candidates=[])  # noqa: E731
    sources = console_sources(location, settings_path=tmp_path / "s.toml", state_dir=state)
    app = OmeroTuiApp(sources, initial_panel="tab-overview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)
        await settle(pilot)
        assert type(app.screen).__name__ == "ResumePrompt"  # the console saw the journal
        overview = app.screen_stack[0].query_one("#overview-panel")
        areas = {a.area: a for a in overview.report.areas}
        assert areas["server"].headline.startswith("The server is stopped: relocation")
        assert "no scan on record" not in areas["usage"].headline  # the CLI's scan
