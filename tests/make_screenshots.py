"""Regenerate ``screenshots/*.svg``: ``.venv/bin/python -m tests.make_screenshots``.

The screenshots are the SVG snapshots the tests check (same frozen data, same demo
sandbox), so the README never shows a screen the tests do not. This runs the snapshot
tests first and copies nothing if one fails; with ``--update`` it first regenerates the
snapshots (after a deliberate change of the UI).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = ROOT / "tests" / "snapshots" / "__snapshots__"
OUT = ROOT / "screenshots"

# screenshot name -> the snapshot it is
SHOTS: dict[str, str] = {
    "overview-120x36": "test_overview_snapshots/test_overview[120x36]",
    "overview-80x24": "test_overview_snapshots/test_overview[80x24]",
    "layout-120x36": "test_layout_snapshots/test_layout_panel[120x36]",
    "layout-80x24": "test_layout_snapshots/test_layout_panel[80x24]",
    "usage-120x36": "test_usage_snapshots/test_idle_with_last_scan[120x36]",
    "usage-drilled-80x24": "test_usage_snapshots/test_drilled_down[80x24]",
    "locks-120x36": "test_locks_snapshots/test_locks_panel_probed[120x36]",
    "locks-trouble-120x36": "test_locks_snapshots/test_locks_panel_trouble_simulated[120x36]",
    "perms-120x36": "test_perms_snapshots/test_perms_panel_for_a_user_who_cannot_write",
    "wizard-choose-80x24": "test_wizard_snapshots/test_wizard_step[choose-80x24]",
    "wizard-preflight-80x24": "test_wizard_snapshots/test_wizard_step[preflight-80x24]",
    "wizard-plan-120x36": "test_wizard_snapshots/test_wizard_step[plan-120x36]",
    "wizard-move-80x24": "test_wizard_snapshots/test_wizard_step[move-80x24]",
    "wizard-config-80x24": "test_wizard_snapshots/test_wizard_step[config-80x24]",
    "wizard-done-80x24": "test_wizard_snapshots/test_wizard_step[done-80x24]",
    "wizard-resume-prompt-80x24": "test_wizard_snapshots/test_resume_prompt_at_start_up[80x24]",
    "help-80x24": "test_overview_snapshots/test_help_for_lock_health[80x24]",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="regenerate the snapshots first")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
    command += ["tests/snapshots"] + (["--snapshot-update"] if args.update else [])
    if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
        print("snapshot tests failed: screenshots left as they were", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.svg"):
        if old.stem not in SHOTS:
            old.unlink()
    for name, snapshot in SHOTS.items():
        shutil.copyfile(SNAPSHOTS / f"{snapshot}.svg", OUT / f"{name}.svg")
        print(OUT / f"{name}.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
