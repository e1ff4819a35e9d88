"""Command line: no subcommand opens the console; subcommands are its headless twins.

Subcommands never import Textual, so they start fast and work where no terminal is.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from omero_tui import __version__
from omero_tui.commands.errors import CliError

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """Bad options get one line, not a usage block: the same as every other refusal."""

    def error(self, message: str) -> NoReturn:
        bad_choice = re.match(r"argument (COMMAND|ACTION): invalid choice: (\S+)", message)
        if bad_choice:
            kind = bad_choice[1].lower()
            choices = ", ".join(self._subparser_choices())
            message = f"unknown {kind} {bad_choice[2]} (one of: {choices})"
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse's own asks shutil for the width, and builds a formatter for every
        # option added (to check its metavar): shutil's import, with bz2, lzma and zlib,
        # cost every monitoring run 1.6 ms. The same width, without it:
        return self.formatter_class(prog=self.prog, width=help_width())

    def _subparser_choices(self) -> list[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return list(action.choices)
        return []


def help_width() -> int:
    """What ``argparse.HelpFormatter`` takes: ``shutil.get_terminal_size()``'s columns
    (COLUMNS, else the terminal of stdout, else 80), less 2."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
        columns = columns or 80
    return columns - 2


def _common_options() -> argparse.ArgumentParser:
    common = OneLineParser(add_help=False)
    # SUPPRESS keeps a subcommand's absent option from hiding one given before it.
    common.add_argument(
        "--server-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="the OMERO.server install dir (OMERODIR)",
    )
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="the repository (omero.data.dir), overriding the configuration",
    )
    common.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="judge this config.xml profile, not __ACTIVE__ (the only one the server reads)",
    )
    common.add_argument(
        "--settings",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="settings file (default: $XDG_CONFIG_HOME/omero-tui/settings.toml)",
    )
    return common


def build_parser(only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line. ``only``: give just these commands their options; the
    others keep their name and help line, all that ``--help`` and a mistyped command
    show (a command's options cost milliseconds that every monitoring run pays)."""
    common = _common_options()
    parser = OneLineParser(
        prog="omero-tui",
        description="Console for the OMERO.server binary repository. "
        "Without a command it opens the interactive console.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"omero-tui {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the console on a throw-away demo sandbox"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name, (help_line, add_options) in SUBCOMMANDS.items():
        if only is None or name in only:
            add_options(sub.add_parser(name, help=help_line, parents=[common]))
        else:
            sub.add_parser(name, help=help_line)
    return parser


def _config_options(config: argparse.ArgumentParser) -> None:
    common = _common_options()
    config_sub = config.add_subparsers(
        dest="config_command", metavar="ACTION", required=True, parser_class=OneLineParser
    )
    get = config_sub.add_parser(
        "get", help="print key=value lines (one KEY: its value only)", parents=[common]
    )
    get.add_argument("keys", nargs="*", metavar="KEY")
    shown = get.add_mutually_exclusive_group()
    shown.add_argument(
        "--show-password",
        action="store_true",
        help="print the values of *.pass and *.password keys (hidden by default)",
    )
    # Kept for scripts written when hiding was optional; hiding is now the default.
    shown.add_argument("--hide-password", action="store_true", help=argparse.SUPPRESS)
    set_ = config_sub.add_parser(
        "set", help="set KEY to VALUE, or delete KEY when no VALUE", parents=[common]
    )
    set_.add_argument("key", metavar="KEY")
    set_.add_argument("value", nargs="?", metavar="VALUE")
    set_.add_argument(
        "--lock-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for config.xml.lock (default 10)",
    )


def _layout_options(layout: argparse.ArgumentParser) -> None:
    layout.add_argument("--json", action="store_true", help="print the full report as JSON")


def _usage_options(usage: argparse.ArgumentParser) -> None:
    usage.add_argument("--json", action="store_true", help="print the full report as JSON")
    usage.add_argument(
        "--quick",
        action="store_true",
        help="reuse the last scan for directories whose mtime is unchanged",
    )
    usage.add_argument(
        "--export",
        metavar="FILE",
        help="also write the scan in ncdu's JSON export format (for ncdu/gdu)",
    )


def _locks_options(locks: argparse.ArgumentParser) -> None:
    locks.add_argument("--json", action="store_true", help="print the full report as JSON")
    locks.add_argument(
        "--probe",
        action="store_true",
        help="also run the active two-process lock probe in each directory",
    )
    locks.add_argument(
        "--remove-stale",
        action="store_true",
        help="remove stale .lock and .pyr_lock files, only if the server is verified stopped",
    )


def _perms_options(perms: argparse.ArgumentParser) -> None:
    perms.add_argument("--json", action="store_true", help="print the full report as JSON")
    perms.add_argument("--user", metavar="USER", help="check for this user, not the server's")
    perms.add_argument(
        "--deep",
        action="store_true",
        help="walk every subdirectory for entries the user cannot use",
    )
    perms.add_argument(
        "--fix",
        action="store_true",
        help="show the fix plan; with --yes apply it (keeping an undo record)",
    )
    perms.add_argument("--yes", action="store_true", help="apply --fix without asking")
    perms.add_argument(
        "--undo",
        action="store_true",
        help="restore the owners and modes recorded by the last --fix",
    )


def _relocate_options(relocate: argparse.ArgumentParser) -> None:
    relocate.add_argument("--to", metavar="DEST", help="the new location (an absolute path)")
    relocate.add_argument(
        "--managed-only",
        action="store_true",
        help="move only the managed repository (omero.managed.dir)",
    )
    relocate.add_argument(
        "--copy",
        action="store_true",
        help="copy and verify even on one filesystem, keeping the old copy as a fallback",
    )
    relocate.add_argument(
        "--dry-run", action="store_true", help="print the plan and the checks; change nothing"
    )
    relocate.add_argument("--yes", action="store_true", help="do not ask before stopping")
    relocate.add_argument(
        "--lost-at-reboot",
        action="store_true",
        help="accept a target on tmpfs or ramfs, whose data is lost at the next reboot",
    )
    relocate.add_argument(
        "--rewrite-config-sources",
        action="store_true",
        help="also rewrite the `config set` line of a .omero file (not an Ansible template) "
        "that would put the old path back at the next start (journalled, backup kept)",
    )
    relocate.add_argument(
        "--resume", action="store_true", help="continue an interrupted relocation"
    )
    relocate.add_argument(
        "--rollback", action="store_true", help="undo an unfinished relocation exactly"
    )
    relocate.add_argument(
        "--remove-source",
        action="store_true",
        help="after a complete relocation, re-verify and delete the old copy",
    )
    relocate.add_argument(
        "--json", action="store_true", help="stream the plan, progress and result as JSON lines"
    )


def _db_options(db: argparse.ArgumentParser) -> None:
    db.add_argument("--json", action="store_true", help="print the full report as JSON")
    db.add_argument("--orphans", action="store_true", help="list every orphan found")
    db.add_argument("--missing", action="store_true", help="list every missing or changed file")
    db.add_argument(
        "--by-user",
        action="store_true",
        help="usage per OMERO user and group (alone: only that, no disk walk)",
    )
    db.add_argument(
        "--verify-hash",
        action="store_true",
        help="also check each file's content against its recorded checksum (slow)",
    )


def _check_options(check: argparse.ArgumentParser) -> None:
    check.add_argument("--json", action="store_true", help="every finding as JSON")
    check.add_argument(
        "--prometheus",
        metavar="FILE",
        help="also write a node-exporter textfile (atomically) to FILE",
    )
    check.add_argument("--probe", action="store_true", help="also run the active lock probe")
    usage_mode = check.add_mutually_exclusive_group()
    usage_mode.add_argument(
        "--quick",
        action="store_true",
        help="usage from a quick rescan (reuses unchanged directories of the last scan)",
    )
    usage_mode.add_argument(
        "--cached",
        action="store_true",
        help="usage from the last scan on record, re-judged now (no scan at all)",
    )


def _demo_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--dir", required=True, metavar="DIR", help="where to keep the sandbox")
    demo.add_argument(
        "--no-tui",
        action="store_true",
        help="only build it (and print its paths); do not start anything",
    )


# Name -> (its line in `omero-tui --help`, what adds its options), in --help order.
SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "config": ("read or change etc/grid/config.xml like `omero config`", _config_options),
    "layout": ("the Layout panel, headless", _layout_options),
    "usage": ("the Disk usage panel, headless", _usage_options),
    "locks": ("the Lock health panel, headless", _locks_options),
    "perms": ("the Permissions panel, headless", _perms_options),
    "relocate": (
        "move the repository: stop, copy or rename, verify, rewrite config, start",
        _relocate_options,
    ),
    "db": (
        "the Database panel, headless: OMERO's database against the files (read-only)",
        _db_options,
    ),
    "check": (
        "every check at once, for monitoring (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
        _check_options,
    ),
    "demo": ("build a demo sandbox in DIR and open the console on it", _demo_options),
}


# Commands monitoring runs: a refusal or a bad option means "could not check" (UNKNOWN,
# 3), never WARNING (1) or, as argparse would have it, CRITICAL (2).
MONITORING_COMMANDS = ("check", "layout", "usage", "locks", "perms", "db")
SCAN_COMMANDS = ("check", "usage")  # headless runs bounded by one usage scan
COMMANDS = (*MONITORING_COMMANDS, "config", "relocate", "demo")
UNKNOWN_EXIT = 3


def _command_word(argv: Sequence[str]) -> str | None:
    return next((word for word in argv if not word.startswith("-")), None)


def run() -> None:
    """The installed command (and ``python -m omero_tui``): main, then exit.

    A scan command leaves at once when it is done: its workers are reaped and its files
    written and closed by then, and tearing down the interpreter's heap (every module
    and record freed one by one) would add several ms to each cron or Nagios run."""
    words = sys.argv[1:]
    code = main(words)
    if _command_word(words) in SCAN_COMMANDS:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = 120  # what the interpreter's own exit says when it cannot flush stdout
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    word = _command_word(words)
    collecting = gc.isenabled()
    if word in SCAN_COMMANDS:
        # A scan's records are tuples of numbers and strings, never a cycle, and the
        # command ends when the scan does: the cyclic collector would only re-walk the
        # records it loads and makes (several ms on a large repository).
        gc.disable()
    try:
        return _run(words, word)
    finally:
        if collecting:  # main called by a process that goes on (a test)
            gc.enable()


def _run(words: list[str], word: str | None) -> int:
    monitoring = word in MONITORING_COMMANDS
    # An unknown command may be a monitoring command mistyped: UNKNOWN, like a bad option.
    unknown_command = word is not None and word not in COMMANDS
    try:
        args = build_parser(only=[w for w in words if w in COMMANDS]).parse_args(words)
    except SystemExit as err:
        if (monitoring or unknown_command) and err.code == 2:
            return UNKNOWN_EXIT
        raise
    try:
        if args.command == "config":
            from omero_tui.commands.config_cmd import run_config

            return run_config(args)
        if args.command == "check":
            from omero_tui.commands.check_cmd import run_check

            return run_check(args)
        if args.command == "layout":
            from omero_tui.commands.layout_cmd import run_layout

            return run_layout(args)
        if args.command == "usage":
            from omero_tui.commands.usage_cmd import run_usage

            return run_usage(args)
        if args.command == "locks":
            from omero_tui.commands.locks_cmd import run_locks

            return run_locks(args)
        if args.command == "perms":
            from omero_tui.commands.perms_cmd import run_perms

            return run_perms(args)
        if args.command == "db":
            from omero_tui.commands.db_cmd import run_db

            return run_db(args)
        if args.command == "relocate":
            from omero_tui.commands.relocate_cmd import run_relocate

            return run_relocate(args)
        if args.command == "demo":
            from omero_tui.commands.tui_cmd import run_demo

            return run_demo(args, keep_dir=Path(args.dir))
        from omero_tui.commands.tui_cmd import run_demo, run_tui

        if args.demo:
            return run_demo(args, keep_dir=None)
        return run_tui(args)
    except CliError as err:
        print(f"omero-tui: {err}", file=sys.stderr)
        acting = getattr(args, "fix", False) or getattr(args, "undo", False)
        return UNKNOWN_EXIT if monitoring and not acting else 1
    except KeyboardInterrupt:
        return 130
