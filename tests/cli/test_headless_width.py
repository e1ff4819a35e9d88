"""Every headless command's text output on the demo fits an 80-column terminal.

Lines are wrapped at word boundaries. The one exception, named here: a long path that
cannot fit in the room left after its label may overflow (it is never broken). The
demo lives in a short temp dir, so that exception is rare and a real overflow is caught.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo

WIDTH = 80
LONG_PATH = 40  # a path word at least this long may overflow: nothing else may


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoSandbox]:
    root = Path(tempfile.mkdtemp(prefix="o80-"))
    root.chmod(0o755)  # another user may traverse it, as on a server
    try:
        yield build_demo(root / "demo")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(demo: DemoSandbox, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    state = demo.root.parent / "state"
    env.update(
        XDG_STATE_HOME=str(state),
        XDG_CONFIG_HOME=str(state / "config"),
        OMERODIR=str(demo.server_dir),
        COLUMNS=str(WIDTH),
    )
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def too_wide(text: str) -> list[str]:
    """Lines over the width, except a long path word that crosses the last column."""
    bad = []
    for line in text.splitlines():
        if len(line) <= WIDTH:
            continue
        start = line.rfind(" ", 0, WIDTH) + 1
        word = line[start:].split(" ", 1)[0]
        if "/" in word and len(word) >= LONG_PATH and " " not in line[start + len(word) :]:
            continue
        bad.append(f"{len(line)}: {line}")
    return bad


COMMANDS = [
    ("layout",),
    ("usage",),
    ("usage", "--quick"),
    ("locks",),
    ("locks", "--probe"),
    ("perms",),
    ("perms", "--deep"),
    ("perms", "--fix"),
    ("check",),
    ("check", "--quick", "--probe"),
    ("check", "--cached"),
    ("config", "get"),
    ("relocate", "--to", "{vol}/OMERO", "--dry-run"),
    ("relocate", "--to", "{vol}/OMERO", "--copy", "--dry-run"),
    ("--help",),
    *((name, "--help") for name in ("layout", "usage", "locks", "perms", "check", "relocate")),
]


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_headless_output_fits_80_columns(demo: DemoSandbox, words: tuple[str, ...]) -> None:
    args = [w.format(vol=demo.second_volume) for w in words]
    result = run(demo, *args)
    # 3: the demo built here runs no database, so check's database area is UNKNOWN.
    assert result.returncode in (0, 1, 3), (result.returncode, result.stderr)
    assert result.stdout.strip(), result.stderr
    assert too_wide(result.stdout) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to judge for another user")
def test_perms_for_a_user_who_cannot_write_fits_and_says_words_not_codes(
    demo: DemoSandbox,
) -> None:
    for args in (("perms", "--user", "nobody"), ("perms", "--user", "nobody", "--fix")):
        result = run(demo, *args)
        assert result.returncode == 2, result.stderr
        assert too_wide(result.stdout) == []
        assert "perms." not in result.stdout  # "cannot write", not perms.not_writable
        assert "cannot write" in result.stdout


def test_locks_ends_with_a_documented_level(demo: DemoSandbox) -> None:
    result = run(demo, "locks")
    last = result.stdout.strip().splitlines()[-1]
    assert last in {f"Overall: {level}" for level in ("OK", "WARNING", "CRITICAL", "UNKNOWN")}
