"""The demo without PostgreSQL's binaries, and the demo whose database is not running.

The binaries are hidden for real: PATH and the Debian search glob point at an empty
directory, so the demo's own start of its cluster fails as it would on such a machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omero_tui import cli
from omero_tui.core.database import cluster
from omero_tui.core.database.check import DatabaseUnavailable, check_database
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.discovery import discover
from omero_tui.tui.app import OmeroTuiApp
from tests.appkit import demo_sources, settle, text_of

INSTALL = "apt-get install postgresql"


def _hide_postgres(monkeypatch: pytest.MonkeyPatch, empty: Path) -> None:
    empty.mkdir(exist_ok=True)
    monkeypatch.setattr(cluster, "PG_LIB_GLOB", str(empty / "*" / "bin" / "initdb"))
    monkeypatch.setenv("PATH", str(empty))
    assert cluster.find_pg_bin() is None


async def test_demo_without_postgres_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide_postgres(monkeypatch, tmp_path / "empty")
    with DemoSession(root=tmp_path / "demo", start_server=False, database=True) as session:
        assert session.database is not None and session.database.directory is None
        assert "initdb was not found" in (session.database.error or "")
        sandbox = session.sandbox
        app = OmeroTuiApp(demo_sources(sandbox), initial_panel="tab-database")
        async with app.run_test(size=(200, 30)) as pilot:
            await settle(pilot)
            status = text_of(app, "#database-status")
        assert INSTALL in status and "cannot reach" not in status, status
        assert len(status.strip().splitlines()) == 1, status
        # The headless twin says the same, as UNKNOWN, in one line.
        code = cli.main(["db", "--json", "--server-dir", str(sandbox.server_dir)])
        out, err = capsys.readouterr()
        assert code == 3 and json.loads(out)["verdict"] == "unknown"
        assert INSTALL in err and len(err.strip().splitlines()) == 1, err


def test_demo_database_not_running_or_failed_says_so(
    demo_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    # Binaries "present" (a stand-in initdb is enough: nothing is started here).
    bin_dir = tmp_path / "pg" / "15" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "initdb").touch()
    monkeypatch.setattr(cluster, "PG_LIB_GLOB", str(tmp_path / "pg" / "*" / "bin" / "initdb"))
    location = discover(server_dir_arg=str(demo_sandbox.server_dir), env={}, candidates=[])
    with pytest.raises(DatabaseUnavailable, match="the demo's database is not running"):
        check_database(location)
    (demo_sandbox.root / cluster.DEMO_DB_NOTE).write_text("initdb failed: disk full\n")
    with pytest.raises(DatabaseUnavailable, match="did not start: initdb failed: disk full"):
        check_database(location)
