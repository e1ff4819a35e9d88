"""The command line built for one command parses and helps exactly as the whole one.

``main`` gives only the named commands their options (a monitoring run pays for no
other); every help text, every parse and every refusal must stay the same.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from omero_tui.cli import COMMANDS, SUBCOMMANDS, build_parser, help_width

ARGVS = [
    [],
    ["--help"],
    ["--demo"],
    ["--data-dir", "/srv/OMERO"],
    ["frobnicate"],
    ["usage", "--json", "--quick", "--data-dir", "/srv/OMERO"],
    ["--data-dir", "/srv/OMERO", "usage", "--export", "x.json"],
    ["--data-dir", "usage", "check", "--json"],  # a command's name as an option's value
    ["usage", "--bogus"],
    ["usage", "--help"],
    ["check", "--json", "--quick", "--prometheus", "/tmp/x.prom"],
    ["check", "--quick", "--cached"],
    ["check", "--help"],
    ["config"],
    ["config", "bogus"],
    ["config", "get", "--show-password", "omero.data.dir"],
    ["config", "get", "--help"],
    ["config", "set", "--lock-timeout", "2", "omero.data.dir", "/x"],
    ["layout", "--json"],
    ["locks", "--probe", "--remove-stale"],
    ["perms", "--deep", "--user", "omero"],
    ["relocate", "--to", "/new", "--dry-run", "--json"],
    ["db", "--by-user", "--orphans"],
    ["demo"],
    ["demo", "--dir", "/tmp/d", "--no-tui"],
    ["layout", "extra"],
]


def _parse(only: list[str] | None, argv: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result: object = vars(build_parser(only=only).parse_args(argv))
        except SystemExit as exit_:
            result = ("exit", exit_.code)
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", ARGVS, ids=lambda argv: " ".join(argv) or "(none)")
def test_the_commands_named_parse_as_the_whole_command_line(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    only = [word for word in argv if word in COMMANDS]
    assert _parse(only, argv) == _parse(None, argv)


def test_every_command_has_its_options_and_help_line() -> None:
    assert tuple(SUBCOMMANDS) == (
        "config",
        "layout",
        "usage",
        "locks",
        "perms",
        "relocate",
        "db",
        "check",
        "demo",
    )
    assert set(SUBCOMMANDS) == set(COMMANDS)


@pytest.mark.parametrize("columns", [None, "57", "0", "wide"])
def test_help_width_is_argparse_own(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    """The parser measures the terminal without shutil, and must get what argparse's
    formatter would (COLUMNS, else the terminal, else 80; less 2)."""
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == shutil.get_terminal_size().columns - 2
