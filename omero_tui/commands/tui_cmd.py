"""Open the interactive console, on a real server or on the demo sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.commands.context import find
from omero_tui.commands.errors import CliError
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.settings import DEMO_STATE_DIR, state_dir_for

if TYPE_CHECKING:
    from omero_tui.core.demo.session import DemoSession
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
    # The state dir `check`, `usage` and `relocate` use for this server (a kept demo
    # sandbox's own, or the admin's): a scan or a journal made by one is seen by all.
    state = state_dir_for(find(args).server_dir.value)
    sources = console_sources(
        lambda: find(args), settings_path=Path(settings) if settings else None, state_dir=state
    )
    OmeroTuiApp(sources).run()
    return 0


def _stopped_by_journal(state: Path) -> str | None:
    """Why a kept sandbox's stand-in must stay stopped: an unfinished relocation."""
    from omero_tui.core.relocation.status import find_unfinished_relocation

    try:
        status = find_unfinished_relocation(state)
    except Exception as err:  # noqa: BLE001 - unreadable: not a reason to start blindly
        return f"its relocation journals cannot be read ({err})"
    return status.describe() if status is not None else None


def run_demo(args: argparse.Namespace, keep_dir: Path | None) -> int:
    from omero_tui.core.demo.sandbox import build_demo
    from omero_tui.core.demo.session import DemoSession

    if keep_dir is not None and args.no_tui:
        sandbox = build_demo(keep_dir.resolve())
        # Its own state dir, which the console and every command then share for it.
        (sandbox.root / DEMO_STATE_DIR).mkdir(exist_ok=True)
        print(f"demo sandbox: {sandbox.root}")
        print(f"  server dir:  {sandbox.server_dir}")
        print(f"  data dir:    {sandbox.data_dir}")
        print(f"  volume 2:    {sandbox.second_volume}")
        print(f"try: OMERODIR={sandbox.server_dir} omero-tui layout")
        return 0
    _require_terminal()
    from omero_tui.tui.app import OmeroTuiApp

    root = keep_dir.resolve() if keep_dir is not None else None
    # A kept sandbox whose journal says a relocation stopped its server stays stopped:
    # the console offers to resume or roll back, which starts it when that is right.
    held = _stopped_by_journal(root / DEMO_STATE_DIR) if root is not None else None
    with DemoSession(root=root, start_server=held is None, database=True) as session:
        box = session.sandbox
        server_dir = str(box.server_dir)
        # The demo keeps its settings, history, caches and journals inside its sandbox:
        # it never reads the admin's real settings nor writes to the real state dir;
        # `check`, `usage`, `relocate` on this sandbox find the same state dir.
        state = box.root / DEMO_STATE_DIR
        state.mkdir(exist_ok=True)
        sources = console_sources(
            lambda: discover(server_dir_arg=server_dir, demo=True, env={}),
            settings_path=box.root / "omero-tui-settings.toml",
            state_dir=state,
            env=session.env,
            demo_label=str(box.root),
        )
        OmeroTuiApp(sources).run()
        if held is not None:
            print(f"The demo's stand-in server was left stopped: {held}")
        for line in keep_if_unfinished(session, throwaway=keep_dir is None):
            print(line)
    return 0


def keep_if_unfinished(session: DemoSession, *, throwaway: bool) -> list[str]:
    """A throw-away sandbox with an unfinished relocation is kept, and said so.

    Deleting it would delete the journal that can resume or roll back the move and
    leave a partial target behind (a target may lie outside the sandbox)."""
    root = session.sandbox.root
    unfinished = _stopped_by_journal(root / DEMO_STATE_DIR)
    if unfinished is None or not throwaway:
        return []
    session.keep()
    return [
        f"The demo sandbox is kept at {root}, not deleted: {unfinished}.",
        f"Open it again to resume or roll back: omero-tui demo --dir {root}",
    ]
