"""``systemctl show``, asked when needed or early: same command, same answer, run once.

A stand-in ``systemctl`` on PATH (systemd cannot run here) logs each run, with its
pid, and answers with a unit file the test made; the Layout's look is a real one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from omero_tui.core.config import systemctl_show
from omero_tui.core.config.systemctl_show import AskedEarly, fragment_path
from omero_tui.core.layout.inspection import inspect_layout
from tests.core.test_layout import build_repo, location

UNIT = "omero-server.service"


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(the runs log, the unit file it names); ``pause`` seconds of waiting before it answers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    unit = tmp_path / "units" / UNIT
    unit.parent.mkdir()
    unit.write_text("[Service]\nUser=omero-server\n")
    pause = tmp_path / "pause"
    script = bin_dir / "systemctl"
    script.write_text(
        f'#!/bin/sh\necho "$$ $*" >> "{log}"\n'
        f'[ -f "{pause}" ] && exec sleep "$(cat "{pause}")"\n'
        f'echo "{unit}"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log, unit, pause


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def wait_for_runs(log: Path, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(runs(log)) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_asked_when_needed(standin) -> None:
    log, unit, _ = standin
    assert fragment_path(UNIT) == str(unit)
    assert [r.split(" ", 1)[1] for r in runs(log)] == [
        f"show --property=FragmentPath --value {UNIT}"
    ]


def test_asked_early_is_asked_once_and_answers_the_same(standin) -> None:
    log, unit, _ = standin
    with AskedEarly(UNIT):
        wait_for_runs(log, 1)  # started at the block's start, before anyone asked
        assert len(runs(log)) == 1
        assert fragment_path(UNIT) == str(unit)
        assert fragment_path(UNIT) == str(unit)  # a second question: asked anew
    assert len(runs(log)) == 2


def test_another_unit_is_asked_then_and_there(standin) -> None:
    log, _, _ = standin
    with AskedEarly(UNIT):
        wait_for_runs(log, 1)  # else, on a loaded machine, killed unread before it logs
        fragment_path("other.service")
    assert sorted(r.split()[-1] for r in runs(log)) == sorted([UNIT, "other.service"])


def test_an_answer_nobody_read_is_not_waited_for(standin) -> None:
    log, _, pause = standin
    pause.write_text("30")
    started = time.monotonic()
    with AskedEarly(UNIT):
        wait_for_runs(log, 1)
    assert time.monotonic() - started < 10
    assert gone(int(runs(log)[0].split()[0]))  # killed and reaped: no zombie either


def test_a_hung_systemctl_is_no_answer(standin, monkeypatch: pytest.MonkeyPatch) -> None:
    log, _, pause = standin
    pause.write_text("30")
    monkeypatch.setattr(systemctl_show, "TIMEOUT", 0.3)
    with AskedEarly(UNIT):
        assert fragment_path(UNIT) is None
    assert fragment_path(UNIT) is None
    assert all(gone(int(r.split()[0])) for r in runs(log))


def test_no_systemctl_is_no_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with AskedEarly(UNIT):
        assert fragment_path(UNIT) is None


def test_each_layout_look_asks_systemd_once(standin, tmp_path: Path) -> None:
    """Two looks made apart ask twice: an answer is never kept for the next look."""
    log, _, _ = standin
    where = location(build_repo(tmp_path / "OMERO"))
    inspect_layout(where, postgres_dirs=[], client_dirs=[])
    assert len(runs(log)) == 1
    inspect_layout(where, postgres_dirs=[], client_dirs=[])
    assert len(runs(log)) == 2


def test_run_as_subprocess_would_run_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin from /dev/null, stderr not taken for the answer, SIGPIPE at its default (the
    console ignores it; a child must not), a long answer read whole."""
    unit = tmp_path / ("u" * 200) / UNIT
    unit.parent.mkdir()
    unit.write_text("[Service]\n")
    seen = tmp_path / "seen"
    script = tmp_path / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'readlink /proc/$$/fd/0 > "{seen}"\n'
        f'grep SigIgn /proc/$$/status >> "{seen}"\n'
        'echo "noise on stderr" >&2\n'
        # blank lines: more than a pipe holds (64 KiB), stripped like the rest
        + 'i=0; while [ $i -lt 8000 ]; do echo "         "; i=$((i+1)); done\n'
        + f'echo "{unit}"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert fragment_path(UNIT) == str(unit)
    stdin, ignored = seen.read_text().splitlines()
    assert stdin == "/dev/null"
    assert not int(ignored.split()[1], 16) & (1 << (13 - 1))  # SIGPIPE is 13


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "no-pidfd"])
def test_its_exit_is_waited_for_after_it_closed_stdout(
    standin, monkeypatch: pytest.MonkeyPatch, pidfd: bool
) -> None:
    """An answer counts only with its exit status; one that never comes is no answer."""
    log, unit, _ = standin
    script = Path(log.parent / "bin" / "systemctl")
    script.write_text(
        f'#!/bin/sh\necho "$$ $*" >> "{log}"\necho "{unit}"\nexec >&-\nsleep 0.3\nexit 0\n'
    )
    if not pidfd:

        def no_pidfd(pid: int) -> int:
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    assert fragment_path(UNIT) == str(unit)
    monkeypatch.setattr(systemctl_show, "TIMEOUT", 0.1)
    assert fragment_path(UNIT) is None
    assert all(gone(int(r.split()[0])) for r in runs(log))
