"""The journal: durable appends, torn lines, the one-at-a-time lock, what a status says."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from omero_tui.core.relocation.journal import (
    TARGET_JOURNAL_NAME,
    Journal,
    JournalError,
    RelocationBusy,
    read_records,
    relocation_lock,
)
from omero_tui.core.relocation.plan import RelocationRefused
from omero_tui.core.relocation.rollback import check_rollback_allowed
from omero_tui.core.relocation.status import find_unfinished_relocation, latest_relocation


def test_appends_go_to_both_copies_and_survive_a_torn_last_line(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path / "state", "r1")
    journal.append({"type": "begin", "id": "r1", "plan": {"source": "/a", "target": "/b"}})
    (tmp_path / "target").mkdir()
    journal.attach_target(str(tmp_path / "target"))
    journal.append({"type": "batch", "upto": 10, "entries": 9, "bytes": 100})
    target_copy = tmp_path / "target" / TARGET_JOURNAL_NAME
    assert read_records(target_copy) == read_records(journal.state_path)
    with open(journal.state_path, "ab") as out:
        out.write(b'{"type": "batch", "upto": 2')  # a crash in the middle of a write
    assert [r["type"] for r in read_records(journal.state_path)] == ["begin", "batch"]
    journal.detach_target()
    assert not target_copy.exists()


def test_a_damaged_line_in_the_middle_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"type": "begin"}\nGARBAGE\n{"type": "end"}\n')
    with pytest.raises(JournalError, match="line 2"):
        read_records(path)


def test_status_tells_interrupted_from_complete(tmp_path: Path) -> None:
    state = tmp_path / "state"
    journal = Journal.create(state, "20260101T000000Z-aaaaaa")
    journal.append({"type": "begin", "id": "A", "plan": {"source": "/s", "target": "/t"}})
    journal.append({"type": "step", "step": "copy", "state": "started"})
    journal.append({"type": "batch", "upto": 7, "entries": 5, "bytes": 50})
    journal.append({"type": "batch", "upto": 12, "entries": 4, "bytes": 40})
    status = find_unfinished_relocation(state)
    assert status is not None
    assert (status.state, status.current_step, status.copied_upto) == ("interrupted", "copy", 12)
    assert (status.copied_entries, status.copied_bytes) == (9, 90)
    assert "--resume" in status.describe()
    journal.append({"type": "end", "outcome": "complete"})
    assert find_unfinished_relocation(state) is None
    latest = latest_relocation(state)
    assert latest is not None and latest.state == "complete"


def test_only_one_relocation_at_a_time(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from omero_tui.core.relocation.journal import relocation_lock\n"
            "with relocation_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(30)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RelocationBusy, match=f"pid {holder.pid}"), relocation_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the flock with the process
        try:
            with relocation_lock(tmp_path):
                break
        except RelocationBusy:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_a_journal_killed_before_its_first_record_blocks_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    journal = Journal.create(state, "20260101T000000Z-cccccc")  # and killed right here
    assert journal.state_path.exists()
    latest = latest_relocation(state)
    assert latest is not None and latest.state == "aborted"
    assert find_unfinished_relocation(state) is None
    with open(journal.state_path, "ab") as out:
        out.write(b'{"type": "begin", "id": "x", "pl')  # or torn half way through it
    assert find_unfinished_relocation(state) is None


def test_no_rollback_once_the_server_ran_on_the_new_location(tmp_path: Path) -> None:
    state = tmp_path / "state"
    journal = Journal.create(state, "20260101T000000Z-dddddd")
    journal.append({"type": "begin", "id": "D", "plan": {"source": "/s", "target": "/t"}})
    journal.append({"type": "fact", "name": "server_was_running", "value": True})
    for step in ("stop", "prepare", "copy", "verify", "config", "start"):
        journal.append({"type": "step", "step": step, "state": "started"})
        status = find_unfinished_relocation(state)
        assert status is not None
        check_rollback_allowed(status)  # killed during any of these: a rollback is allowed
        journal.append({"type": "step", "step": step, "state": "done"})
    status = find_unfinished_relocation(state)
    assert status is not None and status.state == "interrupted"
    with pytest.raises(RelocationRefused, match="--resume") as refused:
        check_rollback_allowed(status)  # killed after the start: the server wrote there
    assert refused.value.code == "relocation.rollback_started_there"
