"""``omero-tui config get|set``: OMERO's own config commands, for hosts where the
``omero`` CLI cannot run (it needs Ice and refuses root)."""

from __future__ import annotations

import argparse
import os

from omero_tui.commands.context import locate
from omero_tui.commands.errors import CliError
from omero_tui.core.config.commands import apply_set, format_get
from omero_tui.core.config.xml_file import ConfigError, read_config
from omero_tui.core.discovery import config_path_of


def run_config(args: argparse.Namespace) -> int:
    location = locate(args)
    if not location.server_dir.value:
        raise CliError(f"no OMERO.server dir: {location.server_dir.how}")
    path = config_path_of(location.server_dir.value)
    try:
        if args.config_command == "get":
            doc = read_config(path)
            for line in format_get(
                doc, doc.profile_for(os.environ), args.keys, hide_password=args.hide_password
            ):
                print(line)
        else:
            apply_set(path, args.key, args.value, os.environ, lock_timeout=args.lock_timeout)
    except ConfigError as err:
        raise CliError(str(err)) from err
    return 0
