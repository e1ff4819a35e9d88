"""Open the interactive console, on a real server or on the demo sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.commands.context import locate
from omero_tui.commands.errors import CliError
from omero_tui.core.discovery import ServerLocation, discover

if TYPE_CHECKING:
    from omero_tui.tui.sources import ConsoleSources

HEADLESS_HINT = (
    "the console needs an interactive terminal; use the headless commands instead, "
    "e.g. `omero-tui layout --json` or `omero-tui config get`"
)


def _require_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM") == "dumb":
        raise CliError(HEADLESS_HINT)


def console_sources(
    locate_server: Callable[[], ServerLocation],
    *,
    settings_path: Path | None,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    demo_label: str | None = None,
) -> ConsoleSources:
    """Every panel reads the same settings file and keeps state in the same place.

    Built lazily: the panels' cores are imported when first used, not before the
    console's first frame.
    """
    from omero_tui.core.health.source import HealthSource
    from omero_tui.tui.lazy import Lazy, lazy
    from omero_tui.tui.sources import ConsoleSources

    def wizard() -> object:
        from omero_tui.core.relocation.engine import EngineOptions
        from omero_tui.tui.wizard.source import WizardSource

        options = EngineOptions(state_dir=state_dir, env=env)
        return WizardSource(options=options, settings_path=settings_path)

    return ConsoleSources(
        locate=locate_server,
        demo_label=demo_label,
        settings_path=settings_path,
        usage=lazy("omero_tui.core.usage.service", "UsageSource", state_dir=state_dir),
        perms=lazy(
            "omero_tui.core.perms.source",
            "PermsSource",
            settings_path=settings_path,
            state_dir=state_dir,
        ),
        health=HealthSource(state_dir=state_dir, settings_path=settings_path),
        wizard=Lazy(wizard),
    )


def run_tui(args: argparse.Namespace) -> int:
    _require_terminal()
    from omero_tui.tui.app import OmeroTuiApp

    settings = getattr(args, "settings", None)
    sources = console_sources(
        lambda: locate(args), settings_path=Path(settings) if settings else None
    )
    OmeroTuiApp(sources).run()
    return 0


def run_demo(args: argparse.Namespace, keep_dir: Path | None) -> int:
    from omero_tui.core.demo.sandbox import build_demo
    from omero_tui.core.demo.session import DemoSession

    if keep_dir is not None and args.no_tui:
        sandbox = build_demo(keep_dir.resolve())
        print(f"demo sandbox: {sandbox.root}")
        print(f"  server dir:  {sandbox.server_dir}")
        print(f"  data dir:    {sandbox.data_dir}")
        print(f"  volume 2:    {sandbox.second_volume}")
        print(f"try: OMERODIR={sandbox.server_dir} omero-tui layout")
        return 0
    _require_terminal()
    from omero_tui.tui.app import OmeroTuiApp

    root = keep_dir.resolve() if keep_dir is not None else None
    with DemoSession(root=root, database=True) as session:
        box = session.sandbox
        server_dir = str(box.server_dir)
        # The demo keeps its settings, history, caches and journals inside its sandbox:
        # it never reads the admin's real settings nor writes to the real state dir.
        sources = console_sources(
            lambda: discover(server_dir_arg=server_dir, demo=True, env={}),
            settings_path=box.root / "omero-tui-settings.toml",
            state_dir=box.root / "omero-tui-state",
            env=session.env,
            demo_label=str(box.root),
        )
        OmeroTuiApp(sources).run()
    return 0
