"""A relocation of the demo with its database: the copy is proved against OMERO's records,
and after the start the done step says which root the database now records.

The stand-in server (Ice and Java cannot run here) updates the repository rows at start
as OMERO.blitz does ("Data directory moved"); the console itself only reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omero_tui.core.database.check import recorded_roots
from omero_tui.core.database.cluster import find_pg_bin
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.discovery import discover
from omero_tui.core.record import replace
from omero_tui.core.relocation.engine import prepare_relocation, run_relocation
from omero_tui.core.relocation.engine_context import EngineOptions, StepEvent


def _options(session: DemoSession, state: Path) -> EngineOptions:
    return EngineOptions(
        state_dir=state,
        env=session.env,
        probe_locks=False,
        stop_timeout_s=20,
        start_timeout_s=20,
        start_settle_s=0.3,
    )


@pytest.fixture
def session(tmp_path: Path):  # noqa: ANN201
    pytest.importorskip("psycopg")
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    with DemoSession(tmp_path / "demo", database=True) as running:
        assert running.database is not None and running.database.error is None
        yield running


def test_standin_relocation_proved_by_the_database(session: DemoSession, tmp_path: Path) -> None:
    box = session.sandbox
    target = box.second_volume / "OMERO"
    opts = _options(session, tmp_path / "state")
    location = discover(server_dir_arg=str(box.server_dir), env=session.env, candidates=[])
    prepared = prepare_relocation(location, str(target), "data", options=opts)
    check = next(c for c in prepared.preflight.checks if c.code == "relocation.database")
    assert check.status == "warn"  # the demo's deliberate faults are in the baseline
    assert "baseline recorded" in check.reason and "2 already missing" in check.reason
    events: list[StepEvent] = []
    result = run_relocation(prepared, options=opts, on_step=events.append)
    assert result.outcome == "complete", result.message
    verify = [e.message for e in events if e.step == "verify" and e.state == "info"]
    assert any("OMERO's database: all" in m and "with their recorded sizes" in m for m in verify)
    notes = [n for n in result.notes if n.code == "relocation.database_root"]
    assert {n.message for n in notes} == {
        f"OMERO's database now records the repository root as {target}",
        f"OMERO's database now records the repository root as {target}/ManagedRepository",
    }
    roots = set(recorded_roots(discover(server_dir_arg=str(box.server_dir), env={})).values())
    assert {str(target), f"{target}/ManagedRepository"} <= roots


def test_copy_missing_a_known_file_fails_the_verify(session: DemoSession, tmp_path: Path) -> None:
    box = session.sandbox
    session.stop()
    target = box.second_volume / "OMERO"
    opts = replace(_options(session, tmp_path / "state"))
    location = discover(server_dir_arg=str(box.server_dir), env=session.env, candidates=[])
    prepared = prepare_relocation(location, str(target), "data", options=opts)
    events: list[StepEvent] = []

    def sabotage(event: StepEvent) -> None:
        events.append(event)
        # Same volume here, so the move is a rename: a file then vanishes from the moved
        # tree before the verify, which only OMERO's records can notice.
        if event.step in ("rename", "copy") and event.state == "done":
            os.unlink(target / "Files" / "5")

    result = run_relocation(prepared, options=opts, on_step=sabotage)
    assert result.outcome == "failed", result.message
    assert "lacks 1 file OMERO's database knows" in result.message


@pytest.mark.xdist_group("wizard")
async def test_wizard_verify_and_done_page_name_the_database(
    session: DemoSession, tmp_path: Path
) -> None:
    from tests.appkit import text_of
    from tests.wizardkit import choose, confirm_and_run, open_wizard, until_finished, wizard_app

    box = session.sandbox
    target = box.second_volume / "OMERO"
    app = wizard_app(box, tmp_path / "state", session.env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_wizard(pilot)
        screen = await choose(pilot, str(target))
        assert screen.page == "preflight"
        await confirm_and_run(pilot)
        await until_finished(pilot)
        assert screen.page == "done", screen.problem
        verify = [e.message for e in screen.state.events_of("verify")]
        assert any("OMERO's database: all" in m for m in verify), verify
        notes = " ".join(text_of(app, "#done-notes").split())
    assert f"OMERO's database now records the repository root as {target}" in notes, notes
