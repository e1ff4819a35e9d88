"""Hostile target paths: each refused in one line, with nothing executed or changed.

Every input goes to the real CLI in its own process (``relocate --to X --yes``: even
confirmed, nothing may happen), with PATH holding only tripwires (sh, bash, omero,
systemctl, cp, rsync... each writes a marker file if run), the demo's ``bin/omero``
replaced by one, and an audit hook that records any process the CLI itself would
start. The sandbox is listed in full (sizes, modes, owners, mtimes, content hashes)
before and after. NUL cannot travel in argv: it goes through the core API instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.engine import prepare_relocation
from omero_tui.core.relocation.engine_context import EngineOptions
from omero_tui.core.relocation.plan import RelocationRefused, check_target_text
from omero_tui.core.relocation.target_choice import describe_choice
from tests.core.relocation.helpers import REPO, snapshot

SAFETY_CATEGORY = "Hostile input"
TRIPWIRES = ("sh", "bash", "dash", "zsh", "omero", "systemctl", "service", "cp", "rsync",
             "mv", "rm", "touch", "sudo", "su", "runuser", "env", "xargs", "find")  # fmt: skip


@dataclass(frozen=True)
class Box:
    sandbox: DemoSandbox
    tripwires: Path
    tripped: Path  # written by any tripwire that runs
    pwned: Path  # what `touch` in an injected command would create
    state: Path


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    where = tmp_path_factory.mktemp("hostile")
    sandbox = build_demo(where / "demo")  # its stand-in is never started
    tripwires = where / "tripwires"
    tripwires.mkdir()
    tripped = where / "TRIPPED"
    script = f'#!/bin/sh\necho "$0 $*" >> "{tripped}"\nexit 97\n'
    for name in TRIPWIRES:
        (tripwires / name).write_text(script)
        (tripwires / name).chmod(0o755)
    sandbox.omero_bin.write_text(script)  # the server's own CLI: a tripwire too
    vol = sandbox.second_volume
    os.symlink(sandbox.data_dir, vol / "back")  # a symlink pointing back into the source
    os.symlink(sandbox.root, vol / "up")  # ... and one to a directory holding it
    (vol / "a-file.txt").write_text("not a directory\n")
    yield Box(sandbox, tripwires, tripped, where / "pwned", where / "state")


def _inputs() -> list[tuple[str, str, str]]:
    """(id, target text, words the refusal must contain); {vol} {data} {root} {pwned}."""
    return [
        ("empty", "", "give --to DEST"),
        ("blank", "   ", "no target directory"),
        ("relative", "relative/OMERO", "relative path"),
        ("bare-name", "OMERO", "relative path"),
        ("dot-relative", "./OMERO", "relative path"),
        ("option-like", "-rf", "relative path"),
        ("tilde", "~/OMERO", "not expanded"),
        ("tilde-user", "~root/OMERO", "not expanded"),
        ("dotdot-escape", "{vol}/../../../../../etc/OMERO", ". or .."),
        ("dotdot-end", "{vol}/..", ". or .."),
        ("dot-component", "{vol}/./OMERO", ". or .."),
        ("the-source-itself", "{data}", "the repository itself"),
        ("target-inside-source", "{data}/Pixels/new", "inside"),
        ("source-inside-target", "{root}", "inside"),
        ("symlink-into-source", "{vol}/back", "the repository itself"),
        ("through-symlink-into-source", "{vol}/back/Pixels/new", "inside"),
        ("symlink-to-source-parent", "{vol}/up", "inside"),
        ("an-existing-file", "{vol}/a-file.txt", "not a directory"),
        ("not-empty", "{vol}", "not empty"),
        ("single-quotes", "'{vol}/OMERO'", "quote characters"),
        ("double-quotes", '"{vol}/OMERO"', "quote characters"),
        ("curly-quotes", "\u2018{vol}/OMERO\u2019", "quote characters"),
        ("command-substitution", "{vol}/$(touch {pwned})", "shell characters"),
        ("backticks", "{vol}/`touch {pwned}`", "quote characters"),
        ("semicolon", "{vol}/OMERO;touch {pwned}", "shell characters"),
        ("and-and", "{vol}/OMERO && touch {pwned}", "shell characters"),
        ("pipe", "{vol}/OMERO|sh", "shell characters"),
        ("redirect", "{vol}/OMERO>{pwned}", "shell characters"),
        ("variable", "{vol}/${{HOME}}", "shell characters"),
        ("glob", "{vol}/*", "shell characters"),
        ("newline", "{vol}/OMERO\ntouch {pwned}", "control characters"),
        ("carriage-return", "{vol}/OMERO\r", "control characters"),
        ("tab", "{vol}/OM\tERO", "control characters"),
        ("terminal-escape", "{vol}/\x1b[2JOMERO", "control characters"),
        ("leading-space", " {vol}/OMERO", "space"),
        ("trailing-space", "{vol}/OMERO ", "space"),
        ("no-break-space", "{vol}/OM\u00a0ERO", "invisible"),
        ("zero-width-space", "{vol}/OM\u200bERO", "invisible"),
        ("right-to-left-override", "{vol}/\u202eOREMO", "invisible"),
        ("line-separator", "{vol}/OM\u2028ERO", "invisible"),
        ("c1-control", "{vol}/OM\u0085ERO", "invisible"),
        ("very-long-path", "{vol}/" + "deep/" * 900 + "OMERO", "bytes long"),
        ("very-long-name", "{vol}/" + "N" * 300, "bytes long"),
        ("fullwidth-solidus", "{root}/volume2\uff0fOMERO", "looks like '/'"),
        ("division-slash", "{root}/volume2\u2215OMERO", "looks like '/'"),
        ("fullwidth-letters", "{vol}/\uff2f\uff2d\uff25\uff32\uff2f", "looks like 'O'"),
        ("cyrillic-o-in-existing-name", "{root}/v\u043elume2/OMERO", "mixes Latin letters"),
        ("greek-omicron", "{vol}/\u039fMERO", "mixes Latin letters"),
        ("windows-drive", "D:\\OMERO", "Windows path"),
        ("windows-drive-slashes", "D:/OMERO", "Windows path"),
        ("windows-unc", "\\\\fileserver\\share\\OMERO", "Windows path"),
        ("windows-reserved-name", "D:\\OMERO\\CON", "reserves for a device"),
        ("windows-reserved-aux", "C:\\AUX\\OMERO", "reserves for a device"),
        ("windows-drive-relative", "C:OMERO", "current folder of drive"),
        ("windows-device-path", "\\\\.\\PhysicalDrive0", "device"),
    ]


INPUTS = _inputs()


def _fill(text: str, box: Box) -> str:
    sb = box.sandbox
    return text.format(vol=sb.second_volume, data=sb.data_dir, root=sb.root, pwned=box.pwned)


def _env(box: Box) -> dict[str, str]:
    keep = ("LANG", "LC_ALL", "HOME", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PATH=str(box.tripwires),  # nothing else to run: any command is a tripwire
        OMERODIR=str(box.sandbox.server_dir),
        XDG_STATE_HOME=str(box.state),
        XDG_CONFIG_HOME=str(box.state.parent / "config"),
        PYTHONPATH=str(REPO),
    )
    return env


def _listing(root: Path) -> list[tuple[str, int, int, int]]:
    """Every path below ``root`` with its size, mode and mtime (symlinks not followed)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            found.append((os.path.join(dirpath, name), st.st_size, st.st_mode, st.st_mtime_ns))
    return sorted(found)


@pytest.mark.parametrize(("text", "words"), [(t, w) for _, t, w in INPUTS],
                         ids=[i for i, _, _ in INPUTS])  # fmt: skip
def test_hostile_target_is_refused_in_one_line_and_nothing_runs(
    box: Box, tmp_path: Path, text: str, words: str
) -> None:
    """A hostile --to value: exit 1, one line on stderr, no process run, nothing changed."""
    target = _fill(text, box)
    sb = box.sandbox
    before, listing = snapshot(sb.root), _listing(sb.root)
    audit = tmp_path / "spawned"
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.audited_cli", "--marker", str(audit), "--",
         "--server-dir", str(sb.server_dir), "relocate", f"--to={target}", "--yes"],
        capture_output=True, text=True, env=_env(box), stdin=subprocess.DEVNULL,
        timeout=60, cwd=REPO, check=False,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1 and lines[0].startswith("omero-tui: "), done.stderr
    assert words in lines[0], lines[0]
    assert audit.read_text() == "", f"the CLI started a process: {audit.read_text()}"
    assert not box.tripped.exists(), f"a tripwire ran: {box.tripped.read_text()}"
    assert not box.pwned.exists(), "an injected command ran"
    assert _listing(sb.root) == listing  # sizes, modes, mtimes of every path
    assert snapshot(sb.root) == before  # and contents, owners, links, xattrs
    assert not (box.state / "omero-tui" / "relocations").exists(), "a journal was begun"


def test_nul_in_a_target_is_refused_by_the_core(box: Box, tmp_path: Path) -> None:
    """A NUL byte in the target (argv cannot carry one): refused by the core API."""
    sb = box.sandbox
    text = f"{sb.second_volume}/OM\x00ERO"
    with pytest.raises(ValueError, match="null byte"):  # the OS could not even pass it
        subprocess.run([sys.executable, "-c", "pass", text], check=False)
    with pytest.raises(RelocationRefused, match="control characters") as refused:
        check_target_text(text)
    assert len(str(refused.value).splitlines()) == 1
    choice = describe_choice(text)  # what the wizard shows per keystroke
    assert choice.path is None and choice.problem and "control characters" in choice.problem
    before = snapshot(sb.root)
    location = discover(server_dir_arg=str(sb.server_dir), env=_env(box), candidates=[])
    with pytest.raises(RelocationRefused, match="control characters"):
        prepare_relocation(
            location, text, options=EngineOptions(state_dir=tmp_path / "state", env=_env(box))
        )
    assert snapshot(sb.root) == before
    assert not (tmp_path / "state").exists()
