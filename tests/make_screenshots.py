"""Regenerate ``screenshots/*.svg`` from the demo: ``.venv/bin/python -m tests.make_screenshots``.

Uses the same frozen data as the snapshot tests, so the README shows exactly what the
tests check.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from omero_tui.core.demo.sandbox import build_demo
from tests.appkit import demo_app, settle

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = Path("/tmp/omero-tui-screenshot-demo")

SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...]]] = [
    ("layout-120x36", (120, 36), ()),
    ("layout-80x24", (80, 24), ()),
]


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...]) -> Path:
    app = demo_app(build_demo(SANDBOX))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        out = ROOT / "screenshots"
        out.mkdir(exist_ok=True)
        return Path(app.save_screenshot(f"{name}.svg", str(out)))


def main() -> None:
    shutil.rmtree(SANDBOX, ignore_errors=True)
    try:
        for name, size, keys in SHOTS:
            print(asyncio.run(shoot(name, size, keys)))
    finally:
        shutil.rmtree(SANDBOX, ignore_errors=True)


if __name__ == "__main__":
    main()
