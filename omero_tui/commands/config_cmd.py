"""``omero-tui config get|set``: OMERO's own config commands, for hosts where the
``omero`` CLI cannot run (it needs Ice and refuses root)."""

from __future__ import annotations

import argparse
import os
import sys

from omero_tui.commands.context import locate
from omero_tui.commands.errors import CliError
from omero_tui.core.config.commands import apply_set, format_get
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.discovery import ServerLocation, config_path_of
from omero_tui.core.server.container import detect_container


def run_config(args: argparse.Namespace) -> int:
    location = locate(args)
    if not location.server_dir.value:
        raise CliError(f"no OMERO.server dir: {location.server_dir.how}")
    path = config_path_of(location.server_dir.value)
    try:
        if args.config_command == "get":
            doc = read_config(path)
            _say_profile(location)
            profile = location.profile.value or doc.stored_profile
            hide = not args.show_password
            for line in format_get(doc, profile, args.keys, hide_password=hide, hide_single=hide):
                print(line)
        else:
            _say_profile(location)
            _warn_container()
            apply_set(
                path,
                args.key,
                args.value,
                os.environ,
                lock_timeout=args.lock_timeout,
                profile=location.profile.value,
            )
    except ConfigError as err:
        raise CliError(str(err)) from err
    return 0


def _say_profile(location: ServerLocation) -> None:
    """OMERO_CONFIG or --profile naming another profile than __ACTIVE__: said on stderr,
    so ``config get`` output stays what scripts expect."""
    for note in location.notes:
        if note.code in ("layout.omero_config_ignored", "layout.profile_not_active"):
            print(f"omero-tui: {note.severity.label.upper()}: {note.message}", file=sys.stderr)


def _warn_container() -> None:
    container = detect_container()
    if container.official_image:
        print(
            "omero-tui: WARNING: inside the OMERO.server container config.xml is rebuilt "
            "at every start from /opt/omero/server/config/*.omero and the CONFIG_* "
            "variables; this change lasts only until the container restarts.",
            file=sys.stderr,
        )
