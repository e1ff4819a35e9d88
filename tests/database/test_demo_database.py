"""``--demo``'s own database: started with the sandbox, its faults found, stopped on close."""

from __future__ import annotations

import pytest

from omero_tui.core.database.check import check_database
from omero_tui.core.database.cluster import find_pg_bin
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.discovery import discover


def test_demo_session_database_lists_its_faults_and_stops(tmp_path) -> None:
    pytest.importorskip("psycopg")
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    with DemoSession(root=tmp_path / "demo", start_server=False, database=True) as session:
        db = session.database
        assert db is not None and db.error is None, db.error
        directory = db.directory
        location = discover(server_dir_arg=str(session.sandbox.server_dir), env={})
        report = check_database(location)
        missing = sorted(f"{i.area}/{i.path}" for i in report.missing)
        orphans = sorted(f"{i.area}/{i.path}" for i in report.orphans)
        assert missing == sorted(db.faults.missing) and len(missing) == 2
        assert orphans == sorted(db.faults.orphans) and len(orphans) == 2
        assert (directory / "data" / "postmaster.pid").exists()
    assert not directory.exists()  # stopped and removed on close
