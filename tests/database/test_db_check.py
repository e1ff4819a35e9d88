"""The consistency check against a real PostgreSQL filled from the demo's repository."""

from __future__ import annotations

import os
import threading

import pytest

from omero_tui.core.database.check import DatabaseUnavailable, check_database
from omero_tui.core.database.demo_rows import numbered
from omero_tui.core.database.queries import numbered_sql
from omero_tui.core.discovery import discover
from omero_tui.core.record import asdict
from tests.database.conftest import OMERO_PASSWORD, DemoDb, fill, new_database


def _location(demo_db: DemoDb):
    return discover(server_dir_arg=str(demo_db.sandbox.server_dir), env={})


def _paths(issues) -> list[str]:
    return sorted(f"{i.area}/{i.path}" for i in issues)


def test_demo_faults_found_exactly(demo_db: DemoDb) -> None:
    report = check_database(_location(demo_db))
    assert _paths(report.missing) == sorted(demo_db.faults.missing)
    assert _paths(report.orphans) == sorted(demo_db.faults.orphans)
    assert not report.size_differs and not report.unsafe_rows
    codes = {f.code: f.severity.label for f in report.findings}
    assert codes == {"database.missing": "critical", "database.orphans": "warning"}
    assert report.verdict.exit_code == 2
    roles = {r.role: r.matches for r in report.repositories}
    assert roles == {"data dir": True, "managed dir": True, "script repository": None}
    # Import logs are rows too (never orphans); pyramids and their locks are kept on purpose.
    pixels = next(a for a in report.areas if a.area == "Pixels")
    assert pixels.kept_on_purpose.count > 0 and pixels.orphans.count == 0


def test_usage_per_user_matches_rows(demo_db: DemoDb) -> None:
    import psycopg

    from omero_tui.core.database.connection import connect_kwargs

    report = check_database(_location(demo_db))
    with psycopg.connect(**connect_kwargs(demo_db.settings)) as conn:
        rows = conn.execute(
            "SELECT e.omename, count(*), sum(o.size) FROM originalfile o"
            " JOIN experimenter e ON e.id = o.owner_id"
            " WHERE o.mimetype NOT IN ('Repository', 'Directory') GROUP BY e.omename"
        ).fetchall()
    expected = {name: (count, int(size)) for name, count, size in rows}
    assert {u.owner: (u.files, u.bytes) for u in report.usage} == expected


def test_size_and_hash_changes_are_critical(demo_db: DemoDb) -> None:
    files = demo_db.sandbox.data_dir / "Files"
    shrunk = files / numbered(5)
    shrunk.write_bytes(shrunk.read_bytes()[:-10])
    changed = files / numbered(6)
    data = bytearray(changed.read_bytes())
    data[0] ^= 0xFF
    changed.write_bytes(bytes(data))
    report = check_database(_location(demo_db), verify_hash=True)
    assert _paths(report.size_differs) == ["Files/5"]
    assert _paths(report.hash_differs) == ["Files/6"]
    assert report.hash_checked.count > 500
    assert {"database.size_differs", "database.hash_differs"} <= {f.code for f in report.findings}


def test_unsafe_row_paths_are_findings_and_never_touched(demo_db: DemoDb, tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of the repository")
    managed = demo_db.sandbox.managed_dir
    uuid_row = next(
        r for r in check_database(_location(demo_db)).repositories if r.role == "managed dir"
    )
    rel = os.path.relpath(outside, managed)  # ../../outside.txt
    demo_db.admin(
        "INSERT INTO originalfile (id, path, name, size, repo, owner_id, group_id, mimetype)"
        f" VALUES (5000001, '{os.path.dirname(rel)}/', 'outside.txt', 26, '{uuid_row.uuid}', 2, 3,"
        " 'text/plain'),"
        f" (5000002, '{outside.parent}/', 'outside.txt', 26, '{uuid_row.uuid}', 2, 3, 'text/plain')"
    )
    before = outside.stat().st_atime_ns
    report = check_database(_location(demo_db), verify_hash=True)
    assert report.unsafe_count == 2
    assert {i.detail.split(";")[0] for i in report.unsafe_rows} == {
        "the row's path has a '..' component",
        "the row's path has an absolute path",
    }
    assert _paths(report.missing) == sorted(demo_db.faults.missing)  # not counted as missing
    assert outside.stat().st_atime_ns == before


def test_non_utf8_row_path_is_a_finding(pg_cluster, demo_sandbox) -> None:
    dbname = new_database(pg_cluster, encoding="SQL_ASCII")
    fill(pg_cluster, dbname, demo_sandbox)
    pg_cluster.admin_sql(
        "INSERT INTO originalfile (id, path, name, size, repo, owner_id, group_id, mimetype)"
        " SELECT 5000003, '/', E'caf\\351.czi', 10, hash, 2, 3, 'x' FROM originalfile"
        " WHERE mimetype = 'Repository' AND name = 'ManagedRepository'",
        dbname=dbname,
    )
    db = pg_cluster.settings(dbname, "omero", OMERO_PASSWORD)
    report = check_database(discover(server_dir_arg=str(demo_sandbox.server_dir), env={}), db=db)
    assert "database.non_utf8_rows" in {f.code for f in report.findings}
    assert any("caf\\xe9.czi" in i.path for i in report.missing)


def test_wrong_password_is_one_line_without_the_password(demo_db: DemoDb) -> None:
    db = demo_db.cluster.settings(demo_db.dbname, "omero", "wrong 'secret'")
    with pytest.raises(DatabaseUnavailable) as err:
        check_database(_location(demo_db), db=db)
    text = str(err.value)
    assert "\n" not in text and "secret" not in text and OMERO_PASSWORD not in text
    assert "omero.db.pass" in text and "password authentication failed" in text


def test_unreachable_database_names_the_setting(demo_db: DemoDb, tmp_path) -> None:
    db = demo_db.cluster.settings(demo_db.dbname, "omero", OMERO_PASSWORD)
    db = type(db)(str(tmp_path), db.port, db.name, db.user, db.password)
    with pytest.raises(DatabaseUnavailable) as err:
        check_database(_location(demo_db), db=db)
    assert "omero.db.host" in str(err.value) and "\n" not in str(err.value)


def test_missing_column_is_a_refusal(demo_db: DemoDb) -> None:
    demo_db.admin("ALTER TABLE originalfile DROP COLUMN repo")
    with pytest.raises(DatabaseUnavailable) as err:
        check_database(_location(demo_db))
    assert "originalfile.repo" in str(err.value)


def test_database_down_mid_check_is_a_refusal(demo_db: DemoDb) -> None:
    killed = threading.Event()

    def kill_when_streaming(progress) -> None:
        if progress.phase == "Files" and not killed.is_set():
            killed.set()
            demo_db.admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE 'omero-tui%'"
            )

    with pytest.raises(DatabaseUnavailable) as err:
        check_database(_location(demo_db), progress=kill_when_streaming)
    assert killed.is_set() and "lost the database connection" in str(err.value)


def test_connection_is_read_only(demo_db: DemoDb) -> None:
    import psycopg

    from omero_tui.core.database.connection import read_only_connection

    with (
        read_only_connection(demo_db.settings) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("DELETE FROM originalfile")
    with read_only_connection(demo_db.settings) as conn:
        conn.autocommit = True  # even outside a transaction block the session default holds
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM originalfile")


def test_numbered_sql_matches_omero_layout(demo_db: DemoDb) -> None:
    import psycopg

    from omero_tui.core.database.connection import connect_kwargs

    ids = [0, 7, 999, 1000, 1234, 999123, 1000000, 1234567, 987654321012, 2**62]
    with psycopg.connect(**connect_kwargs(demo_db.settings)) as conn:
        got = [
            conn.execute(
                f"SELECT {numbered_sql('x')} FROM (SELECT %s::int8 AS x) t", [i]
            ).fetchone()[0]
            for i in ids
        ]
    assert got == [numbered(i) for i in ids]


def test_moved_root_and_unknown_identity(demo_db: DemoDb) -> None:
    demo_db.admin(
        "UPDATE originalfile SET path = '/old/place/' WHERE mimetype = 'Repository'"
        " AND name = 'ManagedRepository'",
        "UPDATE originalfile SET hash = 'not-the-disk-uuid' WHERE mimetype = 'Repository'"
        " AND name = 'OMERO'",
    )
    report = check_database(_location(demo_db))
    codes = [f.code for f in report.findings]
    assert "database.root_differs" in codes and "database.identity_unknown" in codes
    moved = next(r for r in report.repositories if r.role == "managed dir")
    assert moved.root == "/old/place/ManagedRepository" and moved.matches is False


@pytest.mark.parametrize("workers", [False, True], ids=["one-walk", "walk-workers"])
def test_directory_comparison_and_row_by_row_agree(
    demo_db: DemoDb, workers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast path compares whole directories; any directory that differs is taken
    # row by row. With faults of every kind, both ways must say the same, whether the
    # disk is walked here or by worker processes (a big table's; any table's here).
    if workers:
        monkeypatch.setattr("omero_tui.core.database.check.PARALLEL_FROM", -(1 << 62))
    sandbox = demo_db.sandbox
    shrunk = sandbox.data_dir / "Files" / numbered(5)
    shrunk.write_bytes(shrunk.read_bytes()[:-10])
    first = next(p for p in sorted(sandbox.managed_dir.rglob("*.tif")) if p.is_file())
    first.write_bytes(first.read_bytes() + b"more")
    uuid = next(
        r.uuid for r in check_database(_location(demo_db)).repositories if r.role == "managed dir"
    )
    demo_db.admin(
        "INSERT INTO originalfile (id, path, name, size, repo, owner_id, group_id, mimetype)"
        f" VALUES (5000011, '../', 'x.txt', 1, '{uuid}', 2, 3, 'text/plain'),"
        f" (5000012, 'user-2_2/', 'a/b.txt', 1, '{uuid}', 2, 3, 'text/plain'),"
        f" (5000013, 'user-2_2/', 'gone-folder', NULL, '{uuid}', 2, 3, 'Directory'),"
        f" (5000014, 'user-2_2/', 'back\\slash', 4, '{uuid}', 2, 3, 'text/plain')"
    )
    fast = check_database(_location(demo_db))
    slow = check_database(_location(demo_db), verify_hash=True)
    assert [asdict(a) for a in fast.areas] == [asdict(a) for a in slow.areas]
    for kind in ("missing", "orphans", "size_differs", "unsafe_rows"):
        assert _paths(getattr(fast, kind)) == _paths(getattr(slow, kind)), kind
    assert fast.unsafe_count == slow.unsafe_count == 3
    assert "ManagedRepository/user-2_2/gone-folder/" in _paths(fast.missing)
    assert len(fast.size_differs) == 2


def test_cancel_while_the_server_still_sorts_stops_promptly(demo_db: DemoDb) -> None:
    import time

    import psutil
    import psycopg

    from omero_tui.core.database.check import DbCancelled
    from omero_tui.core.database.connection import connect_kwargs

    # Another session holds the thumbnail table: the check's query for it waits (as a
    # long sort would) and the cancel must not wait with it.
    kwargs = connect_kwargs(demo_db.settings)
    kwargs.pop("options")
    cancel = threading.Event()

    def cancel_on_thumbnails(progress) -> None:  # noqa: ANN001
        if progress.phase == "Thumbnails":
            cancel.set()

    before = {c.pid for c in psutil.Process().children()}  # earlier tests' leftovers
    with psycopg.connect(**kwargs) as holder:
        holder.execute("LOCK TABLE thumbnail IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(DbCancelled):
            check_database(_location(demo_db), progress=cancel_on_thumbnails, cancel=cancel)
        assert time.monotonic() - started < 10
        holder.rollback()
    assert not [t for t in threading.enumerate() if t.name.startswith("omero-tui-db")]
    left = [c for c in psutil.Process().children() if c.pid not in before]
    assert not [c for c in left if c.status() != psutil.STATUS_ZOMBIE]
