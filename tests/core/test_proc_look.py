"""One look at /proc per area's check: shared within it, never seen by the next check.

Real processes (Python sleeping, with a marker in their command line) and the real
/proc; the reads are counted by wrapping the one function that opens /proc files.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter

import pytest

from omero_tui.core.findings import Severity
from omero_tui.core.health.guard import guarded
from omero_tui.core.health.model import AreaHealth
from omero_tui.core.layout.inspection import inspect_layout
from omero_tui.core.server import container, proc_look
from omero_tui.core.server.proc_look import ProcLook
from omero_tui.core.server.processes import live_views
from tests.core.test_layout import build_repo, location

if not sys.platform.startswith("linux"):
    pytest.skip("/proc is Linux's", allow_module_level=True)

# Per test process: the other xdist worker may be running another of these tests, whose
# sleeping process must not count here.
MARKER = f"omero-tui-proc-look-test-{os.getpid()}"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """(pid, file) -> how many times /proc/<pid>/<file> was opened."""
    counted: Counter = Counter()
    real = proc_look._read

    def counting(proc: str, pid: int, name: str) -> bytes:
        counted[(pid, name)] += 1
        return real(proc, pid, name)

    monkeypatch.setattr(proc_look, "_read", counting)
    return counted


def marked() -> set[int]:
    return {p.pid for p in live_views(lambda pid, name, cmdline: MARKER in cmdline)}


def test_one_look_reads_each_process_once_for_every_question(reads: Counter) -> None:
    with ProcLook():
        marked()
        first = sum(reads.values())
        marked()
        container._foreground_server(proc_look.PROC, ())  # the container question
        assert sum(reads.values()) == first > 0
    assert max(reads.values()) == 1


def test_without_a_look_every_question_reads_proc_again(reads: Counter) -> None:
    marked()
    marked()
    assert max(reads.values()) == 2


def test_checks_made_apart_see_a_process_started_between_them(spawn) -> None:
    seen: list[set[int]] = []

    def check() -> tuple[AreaHealth, dict]:
        seen.append(marked())
        return AreaHealth("layout", Severity.OK, "", (), 0.0), {}

    guarded("layout", check)
    proc = spawn("python3", MARKER)
    guarded("layout", check)
    proc.kill()
    proc.wait(timeout=10)
    guarded("layout", check)
    assert seen == [set(), {proc.pid}, set()]


def test_a_look_is_one_moment_and_ends_with_its_block(spawn) -> None:
    with ProcLook():
        before = marked()
        proc = spawn("python3", MARKER)
        assert marked() == before  # the same look: the same table
        with ProcLook():  # nested: still the outer look
            assert marked() == before
    assert proc.pid in marked()


def test_another_thread_does_not_see_this_threads_look(spawn) -> None:
    from_thread: list[set[int]] = []
    with ProcLook():
        marked()
        proc = spawn("python3", MARKER)
        thread = threading.Thread(target=lambda: from_thread.append(marked()))
        thread.start()
        thread.join()
        assert proc.pid not in marked()
    assert from_thread == [{proc.pid}]


def test_a_process_gone_mid_look_stays_unreadable_within_it(reads: Counter) -> None:
    with ProcLook():
        with pytest.raises(OSError):
            proc_look.proc_file(2**22 + 7, "cmdline")  # above pid_max: never a process
        with pytest.raises(OSError):
            proc_look.proc_file(2**22 + 7, "cmdline")
    assert reads[(2**22 + 7, "cmdline")] == 1


def test_another_proc_dir_is_read_as_it_is(tmp_path, reads: Counter) -> None:
    """A host root given to the container detection (tests, OMERO_TUI_HOST_ROOT) is
    never served from the look of this host's /proc."""
    (tmp_path / "proc" / "42").mkdir(parents=True)
    (tmp_path / "proc" / "42" / "cmdline").write_bytes(b"a\0")
    with ProcLook():
        assert proc_look.proc_pids(str(tmp_path / "proc")) == [42]
        (tmp_path / "proc" / "43").mkdir()
        (tmp_path / "proc" / "42" / "cmdline").write_bytes(b"b\0")
        assert sorted(proc_look.proc_pids(str(tmp_path / "proc"))) == [42, 43]
        assert proc_look.proc_file(42, "cmdline", str(tmp_path / "proc")) == b"b\0"


def test_an_areas_check_takes_one_look(reads: Counter) -> None:
    def check() -> tuple[AreaHealth, dict]:
        marked()
        container._foreground_server(proc_look.PROC, ())
        marked()
        return AreaHealth("layout", Severity.OK, "", (), 0.0), {}

    guarded("layout", check)
    assert max(reads.values()) == 1


def test_the_layout_asks_its_process_questions_of_one_look(tmp_path, reads: Counter) -> None:
    """PostgreSQL's data dirs and the server's environment: each lists every process."""
    server = tmp_path / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    inspect_layout(location(build_repo(tmp_path / "OMERO"), server=server), client_dirs=[])
    assert reads and max(reads.values()) == 1


def test_a_command_line_of_many_pages_is_read_whole(spawn) -> None:
    long_args = ["x" * 50_000] * 4  # a Java server's class path can be this long
    proc = spawn("python3", MARKER, *long_args)
    expected = b"\0".join(os.fsencode(a) for a in proc.args) + b"\0"
    assert proc_look.proc_file(proc.pid, "cmdline") == expected
