"""The engine driven as the wizard will drive it (a worker thread, progress, cancel), and
the checks it repeats because time passes: between the preflight and the run, between an
interruption and its resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.copy_tree import TESTONLY_BATCH_FILES_ENV, TESTONLY_PAUSE_ENV
from omero_tui.core.relocation.engine import (
    prepare_relocation,
    resume_relocation,
    run_relocation,
)
from omero_tui.core.relocation.engine_context import RunResult, StepEvent
from omero_tui.core.relocation.journal import JOURNAL_VERSION, Journal
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.rollback import rollback_relocation
from omero_tui.core.relocation.status import find_unfinished_relocation
from tests.core.relocation.helpers import mount_tmpfs, unmount
from tests.core.relocation.test_engine_demo import data_dir_in_config, options, repository


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DemoSession]:
    with DemoSession(tmp_path / "demo") as running:
        yield running


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """Another disk OUTSIDE the sandbox, as an admin practising on a real spare disk has."""
    where = tmp_path / "vol"
    mount_tmpfs(where)
    yield where
    unmount(where)  # lazily: the session stops its server after the test


def prepared_for(session: DemoSession, target: Path, state_dir: Path):  # noqa: ANN201
    location = discover(
        server_dir_arg=str(session.sandbox.server_dir), env=session.env, candidates=[]
    )
    prepared = prepare_relocation(location, str(target), options=options(session, state_dir))
    assert prepared.preflight.ok, prepared.preflight.failures
    return prepared


def test_moves_to_another_disk_outside_the_sandbox_and_the_stand_in_starts_there(
    session: DemoSession, volume: Path, state_dir: Path
) -> None:
    box = session.sandbox
    before = repository(box.data_dir)
    prepared = prepared_for(session, volume / "OMERO", state_dir)
    assert prepared.plan.method == "copy"
    result = run_relocation(prepared, options=options(session, state_dir))
    assert result.outcome == "complete", result.message
    assert data_dir_in_config(session) == str(volume / "OMERO")
    assert running_pid(box.server_dir) is not None
    assert any(n.code == "relocation.server_moved_line" for n in result.notes)
    session.stop()
    assert repository(volume / "OMERO") == before


def test_a_wizard_thread_gets_progress_and_can_cancel_then_resume(
    session: DemoSession, volume: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = session.sandbox
    before = repository(box.data_dir)
    monkeypatch.setenv(TESTONLY_BATCH_FILES_ENV, "20")  # a copy slow enough to watch
    monkeypatch.setenv(TESTONLY_PAUSE_ENV, "0.03")
    prepared = prepared_for(session, volume / "OMERO", state_dir)
    reports: list[tuple[float, Progress]] = []
    steps: list[StepEvent] = []
    cancel = threading.Event()
    outcome: list[RunResult] = []

    def progress(report: Progress) -> None:
        reports.append((time.monotonic(), report))

    def worker() -> None:  # what a Textual thread worker runs
        outcome.append(
            run_relocation(
                prepared,
                options=options(session, state_dir),
                progress=progress,
                on_step=steps.append,
                cancel=cancel,
            )
        )

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 60
    while not any(p.step == "copy" and p.files_done > 100 for _, p in reports):
        assert thread.is_alive() and time.monotonic() < deadline, "no copy progress"
        time.sleep(0.01)
    cancel.set()  # the admin pressed Cancel
    thread.join(60)
    assert not thread.is_alive()
    result = outcome[0]
    assert result.outcome == "cancelled", result.message
    assert "--resume" in result.message
    copy = [(t, p) for t, p in reports if p.step == "copy"]
    # Totals from the copy's own scan (the server's .lock files are gone by then).
    assert {(p.files_total, p.bytes_total) for _, p in copy} == {
        (copy[0][1].files_total, copy[0][1].bytes_total)
    }
    assert abs(copy[0][1].files_total - prepared.scan.copied_entries()) <= 3
    assert all(0 < p.files_done <= p.files_total for _, p in copy)
    late = [p for t, p in copy if t - copy[0][0] > 0.3]  # a rate once 0.2 s have passed
    assert all(p.rate and p.eta_s is not None for p in late)
    assert all(b[0] - a[0] >= 0.09 for a, b in zip(copy, copy[1:], strict=False))  # <= 10/s
    assert [(e.step, e.state) for e in steps if e.step == "copy"] == [
        ("copy", "started"),
        ("copy", "failed"),
    ]
    status = find_unfinished_relocation(state_dir)
    assert status is not None and status.copied_upto > 0
    assert running_pid(box.server_dir) is None  # stopped, and stays so until resumed
    assert data_dir_in_config(session) == str(box.data_dir)

    monkeypatch.delenv(TESTONLY_PAUSE_ENV)
    resumed = resume_relocation(options=options(session, state_dir))
    assert resumed.outcome == "complete", resumed.message
    assert running_pid(box.server_dir) is not None
    session.stop()
    assert repository(volume / "OMERO") == before


def test_a_target_filled_after_the_preflight_stops_the_run_before_the_server(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    target = box.second_volume / "OMERO"
    config = box.config_path.read_bytes()
    prepared = prepared_for(session, target, state_dir)
    target.mkdir()
    (target / "someone's file").write_bytes(b"not to be overwritten")  # meanwhile
    steps: list[StepEvent] = []
    result = run_relocation(prepared, options=options(session, state_dir), on_step=steps.append)
    assert result.outcome == "aborted", result.message
    assert "is not empty" in result.message and "nothing was moved" in result.message
    assert steps == []  # not even the stop started
    assert running_pid(box.server_dir) is not None
    assert (target / "someone's file").read_bytes() == b"not to be overwritten"
    assert box.config_path.read_bytes() == config and box.data_dir.is_dir()
    assert find_unfinished_relocation(state_dir) is None


def test_a_run_killed_right_after_its_first_record_is_resumed(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    target = box.second_volume / "OMERO"
    prepared = prepared_for(session, target, state_dir)
    # What run_relocation leaves when it is killed just after writing "begin":
    journal = Journal.create(state_dir, "20260101T000000Z-eeeeee")
    journal.append(
        {
            "type": "begin",
            "id": "20260101T000000Z-eeeeee",
            "version": JOURNAL_VERSION,
            "plan": prepared.plan.to_json(),
        }
    )
    resumed = resume_relocation(options=options(session, state_dir))
    assert resumed.outcome == "complete", resumed.message
    assert data_dir_in_config(session) == str(target)
    assert running_pid(box.server_dir) is not None  # it was running: started again


def test_a_resume_refuses_a_target_whose_disk_is_no_longer_mounted(
    session: DemoSession, volume: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = session.sandbox
    config = box.config_path.read_bytes()
    monkeypatch.setenv(TESTONLY_BATCH_FILES_ENV, "20")
    prepared = prepared_for(session, volume / "OMERO", state_dir)
    cancel = threading.Event()

    def cancel_mid_copy(report: Progress) -> None:
        if report.step == "copy" and report.files_done > 100:
            cancel.set()

    result = run_relocation(
        prepared, options=options(session, state_dir), progress=cancel_mid_copy, cancel=cancel
    )
    assert result.outcome == "cancelled", result.message
    unmount(volume)  # a reboot, and the disk did not come back
    assert list(volume.iterdir()) == []
    resumed = resume_relocation(options=options(session, state_dir))
    assert resumed.outcome == "failed" and "mount it again" in resumed.message
    assert list(volume.iterdir()) == []  # nothing written onto the bare mount point
    assert box.config_path.read_bytes() == config
    rolled = rollback_relocation(options=options(session, state_dir))
    assert rolled.outcome == "rolled back", rolled.message
    assert box.config_path.read_bytes() == config
    assert running_pid(box.server_dir) is not None


def test_a_resume_past_the_copy_refuses_a_source_written_to_meanwhile(
    session: DemoSession, volume: Path, state_dir: Path
) -> None:
    box = session.sandbox
    config = box.config_path.read_bytes()
    prepared = prepared_for(session, volume / "OMERO", state_dir)
    cancel = threading.Event()

    def cancel_in_verify(report: Progress) -> None:
        if report.step == "verify":
            cancel.set()

    result = run_relocation(
        prepared, options=options(session, state_dir), progress=cancel_in_verify, cancel=cancel
    )
    assert result.outcome == "cancelled", result.message
    status = find_unfinished_relocation(state_dir)
    assert status is not None and status.done("copy") and not status.done("verify")
    # The server started by hand on the old location, and an import landed there:
    (box.data_dir / "Files" / "999999").write_bytes(b"imported after the copy")
    resumed = resume_relocation(options=options(session, state_dir))
    assert resumed.outcome == "failed" and "changed after it was copied" in resumed.message
    assert box.config_path.read_bytes() == config  # not switched to the stale copy
    rolled = rollback_relocation(options=options(session, state_dir))
    assert rolled.outcome == "rolled back", rolled.message
    assert list(volume.iterdir()) == []
    assert (box.data_dir / "Files" / "999999").read_bytes() == b"imported after the copy"


def test_cancel_while_stopping_puts_the_server_back_and_moves_nothing(
    session: DemoSession, state_dir: Path
) -> None:
    box = session.sandbox
    config = box.config_path.read_bytes()
    prepared = prepared_for(session, box.second_volume / "OMERO", state_dir)
    assert prepared.plan.method == "rename"  # instant: only the checks between steps stop it
    cancel = threading.Event()

    def cancel_at_stop(event: StepEvent) -> None:
        if event.step == "stop" and event.state == "started":
            cancel.set()

    result = run_relocation(
        prepared, options=options(session, state_dir), on_step=cancel_at_stop, cancel=cancel
    )
    assert (result.outcome, result.message) == ("cancelled", "cancelled before anything was moved")
    assert running_pid(box.server_dir) is not None
    assert box.data_dir.is_dir() and not (box.second_volume / "OMERO").exists()
    assert box.config_path.read_bytes() == config
    assert find_unfinished_relocation(state_dir) is None
