"""The check's long queries made slow for real on the server: the side queries (row
counts, usage sums) on their own connection, and with --verify-hash the counts and the
sorted rows on the main one. A cancel is honoured at once, whether it comes while the
check compares or while it waits for the server, and leaves no query running there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from omero_tui.core.database import queries
from omero_tui.core.database.check import DbCancelled, check_database
from omero_tui.core.database.connection import connect_kwargs
from omero_tui.core.database.model import DbProgress
from omero_tui.core.discovery import ServerLocation, discover
from tests.database.conftest import DemoDb

MARK = "omero_tui_side_pause"  # in the slow query's text, to find it in pg_stat_activity
LOCK_KEY = 4_242_001


def _location(demo_db: DemoDb) -> ServerLocation:
    return discover(server_dir_arg=str(demo_db.sandbox.server_dir), env={})


def _slow_usage(pause_sql: str) -> str:
    """USAGE_SQL's columns and order, after ``pause_sql`` has run on the server (as a
    whole-table scan of a big server keeps the side connection busy)."""
    return (
        f"SELECT u.* FROM {pause_sql} AS {MARK}, ({queries.USAGE_SQL}) AS u"
        " ORDER BY u.bytes DESC, u.owner_id, u.group_id"
    )


@pytest.fixture
def watcher(demo_db: DemoDb) -> Iterator[Any]:
    """A connection of the test's own, which can see the check's backends."""
    import psycopg

    kwargs = connect_kwargs(demo_db.settings)
    kwargs.pop("options")
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        yield conn


def _running_pauses(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT pid, state FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND strpos(query, %s) > 0",
        [MARK],
    ).fetchall()


def _assert_nothing_left(watcher: Any) -> None:
    """No thread of the check's, no backend still running the slow query."""
    assert not [t for t in threading.enumerate() if t.name.startswith("omero-tui-db")]
    # The connections are closed; a backend may take a moment to leave the list.
    deadline = time.monotonic() + 5
    while (left := _running_pauses(watcher)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


@pytest.mark.parametrize("cancel_in", ["ManagedRepository", "usage"])
def test_cancel_during_slow_side_query_is_prompt(
    demo_db: DemoDb, watcher: Any, monkeypatch: pytest.MonkeyPatch, cancel_in: str
) -> None:
    # "ManagedRepository": cancelled while comparing (leaving must cancel the side
    # query); "usage": cancelled while waiting for the side's answers.
    monkeypatch.setattr(queries, "USAGE_SQL", _slow_usage("pg_sleep(30)"))
    cancel = threading.Event()

    def progress(p: DbProgress) -> None:
        if p.phase == cancel_in:
            cancel.set()

    started = time.monotonic()
    with pytest.raises(DbCancelled):
        check_database(_location(demo_db), progress=progress, cancel=cancel)
    assert time.monotonic() - started < 10  # the side query alone sleeps 30 s
    _assert_nothing_left(watcher)


def test_slow_side_query_without_cancel_gives_the_same_answers(
    demo_db: DemoDb, watcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[DbProgress] = []
    plain = check_database(_location(demo_db), progress=seen.append)
    plain_total = seen[-1].rows_total

    # The side's usage query waits for a lock the test holds, and gets it once the
    # check has reported its wait three times: progress goes on while it waits.
    watcher.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    monkeypatch.setattr(
        queries, "USAGE_SQL", _slow_usage(f"pg_advisory_xact_lock_shared({LOCK_KEY})")
    )
    released = threading.Event()
    release_lock = threading.Lock()
    waiting: list[DbProgress] = []
    seen_slow: list[DbProgress] = []

    def release() -> None:
        with release_lock:  # the fallback timer's thread or the check's
            if not released.is_set():
                released.set()
                watcher.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])

    def progress(p: DbProgress) -> None:
        seen_slow.append(p)
        if p.phase == "usage" and not released.is_set():
            waiting.append(p)
            if len(waiting) >= 3:
                release()

    # Should the wait never be reported, the lock still goes after 20 s (and the
    # test fails below rather than hang).
    fallback = threading.Timer(20, release)
    fallback.start()
    try:
        slow = check_database(_location(demo_db), progress=progress)
    finally:
        fallback.cancel()
        release()
    assert len(waiting) >= 3
    assert slow.usage == plain.usage and slow.usage
    assert slow.data_repo_rows == plain.data_repo_rows
    assert seen_slow[-1].rows_total == plain_total
    assert seen_slow[-1].phase == "usage"
    assert [a.matched for a in slow.areas] == [a.matched for a in plain.areas]


@pytest.mark.parametrize("slow", ["counts", "files"])
def test_cancel_during_slow_main_query_with_hashes_is_prompt(
    demo_db: DemoDb, watcher: Any, monkeypatch: pytest.MonkeyPatch, slow: str
) -> None:
    if slow == "counts":  # the total asked before the first file is hashed
        pause = f"SELECT c.* FROM pg_sleep(30) AS {MARK}, ({queries.COUNTS_SQL}) AS c"
        monkeypatch.setattr(queries, "COUNTS_SQL", pause)
    else:  # the server sorting the Files rows before it sends the first
        files_sql = queries.legacy_files_sql

        def slow_files(has_hasher: bool) -> str:
            return (
                f"SELECT f.* FROM pg_sleep(30) AS {MARK}, ({files_sql(has_hasher)}) AS f"
                ' ORDER BY f.k COLLATE "C"'
            )

        monkeypatch.setattr(queries, "legacy_files_sql", slow_files)
    cancel = threading.Event()

    def progress(p: DbProgress) -> None:
        if p.phase in ("counting", "Files"):
            cancel.set()

    # Should the wait never be reported, the cancel still comes after 5 s.
    fallback = threading.Timer(5, cancel.set)
    fallback.start()
    started = time.monotonic()
    try:
        with pytest.raises(DbCancelled):
            check_database(_location(demo_db), verify_hash=True, progress=progress, cancel=cancel)
    finally:
        fallback.cancel()
    assert time.monotonic() - started < 15  # the slow query alone sleeps 30 s
    _assert_nothing_left(watcher)
