"""Open the interactive console, on a real server or on the demo sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from omero_tui.cli import CliError
from omero_tui.commands.context import locate
from omero_tui.core.discovery import discover

HEADLESS_HINT = (
    "the console needs an interactive terminal; use the headless commands instead, "
    "e.g. `omero-tui layout --json` or `omero-tui config get`"
)


def _require_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM") == "dumb":
        raise CliError(HEADLESS_HINT)


def run_tui(args: argparse.Namespace) -> int:
    _require_terminal()
    from omero_tui.tui.app import OmeroTuiApp
    from omero_tui.tui.sources import ConsoleSources

    OmeroTuiApp(ConsoleSources(locate=lambda: locate(args))).run()
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
    from omero_tui.tui.sources import ConsoleSources

    root = keep_dir.resolve() if keep_dir is not None else None
    with DemoSession(root=root) as session:
        server_dir = str(session.sandbox.server_dir)
        sources = ConsoleSources(
            locate=lambda: discover(server_dir_arg=server_dir, demo=True, env={}),
            demo_label=str(session.sandbox.root),
        )
        OmeroTuiApp(sources).run()
    return 0
