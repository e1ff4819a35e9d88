"""End to end: the installed ``omero-tui --demo`` in a real pseudo-terminal at 80x24."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import psutil
import pytest


def installed_entry_point() -> Path:
    exe = Path(sys.executable).parent / "omero-tui"
    if not exe.exists():
        found = shutil.which("omero-tui")
        if not found:
            pytest.skip("the omero-tui entry point is not installed (pip install -e .)")
        exe = Path(found)
    return exe


def processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(text in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_demo_visits_every_panel_and_the_wizard_then_quits_with_q(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "TMPDIR": str(tmp_path),
        "COLUMNS": "80",
        "LINES": "24",
        # The demo's checks and caches must not land in the admin's own state dir.
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        str(installed_entry_point()),
        ["--demo"],
        dimensions=(24, 80),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    try:
        child.expect("DEMO")
        child.expect("Health")  # the Overview is the home panel
        child.expect("Relocation")
        for key, seen in (
            ("2", "Pixels"),
            ("3", "press s to scan"),
            ("4", "flock"),
            ("5", "Server user"),
        ):
            child.send(key)
            child.expect(seen)
        child.send("w")
        child.expect("Relocation wizard")
        child.expect("What moves")
        child.send("\x1b")  # Esc closes the wizard: nothing has changed
        child.expect("Permissions")
        child.send("q")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
    assert child.exitstatus == 0, child.before
    # The demo stops its stand-in server and removes its sandbox on the way out.
    deadline = time.monotonic() + 5
    while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftovers = processes_mentioning(str(tmp_path))
    for proc in leftovers:
        proc.kill()
    assert not leftovers, "the demo left its stand-in server running"
    assert not any(p.name.startswith("omero-tui-demo-") for p in tmp_path.iterdir())


def test_a_kept_demo_stays_stopped_while_its_journal_says_a_relocation_stopped_it(
    tmp_path: Path,
) -> None:
    """#14: `omero-tui demo --dir` does not restart the stand-in over an unfinished move."""
    from omero_tui.core.demo.standin_server import standin_pids
    from omero_tui.core.settings import DEMO_STATE_DIR
    from tests.wizardkit import interrupted_journal, omero_tui

    root = tmp_path / "kept"
    assert omero_tui("demo", "--dir", str(root), "--no-tui", xdg=tmp_path).returncode == 0
    interrupted_journal(root / DEMO_STATE_DIR, root)
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    child = pexpect.spawn(
        str(installed_entry_point()),
        ["demo", "--dir", str(root)],
        dimensions=(24, 80),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    try:
        child.expect("An unfinished relocation was found")
        assert not standin_pids(root / "OMERO.server"), "the stand-in was started again"
        child.send("\x1b")  # later
        child.expect("Overview")
        child.send("q")
        child.expect("left stopped")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
    assert child.exitstatus == 0, child.before
    assert root.is_dir()  # a kept sandbox is kept, whatever happened
