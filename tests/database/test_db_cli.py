"""``omero-tui db`` and the database area of ``check``, as a monitoring system runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.database.conftest import DemoDb


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "XDG_STATE_HOME": "/tmp/x-i17"},
    )


def test_db_json_lists_the_demo_faults(demo_db: DemoDb) -> None:
    result = _run("db", "--json", "--server-dir", str(demo_db.sandbox.server_dir))
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert sorted(f"{i['area']}/{i['path']}" for i in report["missing"]) == sorted(
        demo_db.faults.missing
    )
    assert sorted(f"{i['area']}/{i['path']}" for i in report["orphans"]) == sorted(
        demo_db.faults.orphans
    )
    assert report["verdict"] == "critical" and report["exit_code"] == 2
    assert "password" not in json.dumps(report["connection"]).replace("password_set", "")
    assert "s3cret" not in result.stdout + result.stderr


def test_db_text_flags(demo_db: DemoDb) -> None:
    where = ("--server-dir", str(demo_db.sandbox.server_dir))
    orphans = _run("db", "--orphans", *where)
    assert orphans.returncode == 2
    assert all(path.split("/", 1)[1] in orphans.stdout for path in demo_db.faults.orphans)
    by_user = _run("db", "--by-user", *where)
    assert by_user.returncode == 0, by_user.stderr
    assert "user-2" in by_user.stdout and "lab-a" in by_user.stdout


def test_db_refusals_are_unknown(demo_db: DemoDb, tmp_path) -> None:
    # The demo's stock config.xml names localhost:5432, where nothing listens here.
    from omero_tui.core.config.xml_file import write_config

    write_config(demo_db.sandbox.config_path, {"omero.db.host": str(tmp_path)}, env={})
    result = _run("db", "--json", "--server-dir", str(demo_db.sandbox.server_dir))
    assert result.returncode == 3
    assert json.loads(result.stdout)["verdict"] == "unknown"
    assert "omero.db.host" in result.stderr and len(result.stderr.splitlines()) == 1
    no_config = _run("db", "--data-dir", str(demo_db.sandbox.data_dir))
    assert no_config.returncode == 3 and "no database configured" in no_config.stderr


def test_check_has_a_database_area(demo_db: DemoDb) -> None:
    result = _run("check", "--json", "--server-dir", str(demo_db.sandbox.server_dir))
    report = json.loads(result.stdout)
    area = next(a for a in report["areas"] if a["area"] == "database")
    assert area["severity"] == "critical" and result.returncode == 2
    assert report["metrics"]["database"]["missing_files"] == len(demo_db.faults.missing)
    unconfigured = _run("check", "--json", "--data-dir", str(demo_db.sandbox.data_dir))
    area = next(a for a in json.loads(unconfigured.stdout)["areas"] if a["area"] == "database")
    assert area["severity"] == "unknown" and "no database configured" in area["headline"]
