"""What the check asks on a second connection while it compares: totals and usage.

Counting the rows (for the progress bar) and summing them per user and group are whole
table scans; on a big server each takes seconds. Asked on their own read-only
connection in a thread, the server answers them while the main connection's grouped
query is sorted and the disk is walked, instead of before or after. A cancel (or an
error) in the reader cancels the query running there, so it ends in a moment, not
when the server has finished the scan.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from omero_tui.core.database import queries
from omero_tui.core.database.ahead import Ahead
from omero_tui.core.database.connection import DbSettings, read_only_connection
from omero_tui.core.database.merge import DbCancelled, MergeContext, show
from omero_tui.core.database.model import UserUsage
from omero_tui.core.record import field, mutable


@mutable
class SideAnswers:
    rows: int = 0  # rows the comparison will read (managed and legacy files)
    bytes: int = 0  # the sizes they record: what --verify-hash reads
    data_repo_rows: int = 0
    usage: list[UserUsage] = field(default_factory=list)


def usage_rows(conn: Any) -> list[UserUsage]:
    return [
        UserUsage(
            int(owner_id),
            show(owner) if owner else f"experimenter {owner_id}",
            int(group_id),
            show(group) if group else f"group {group_id}",
            int(files),
            int(size),
        )
        for owner_id, owner, group_id, group, files, size in conn.execute(queries.USAGE_SQL)
    ]


def counts(conn: Any, managed_uuid: str | None, data_uuid: str | None) -> SideAnswers:
    row = conn.execute(queries.COUNTS_SQL, [managed_uuid, managed_uuid, data_uuid]).fetchone()
    managed, managed_bytes, legacy, legacy_bytes, data_rows = row
    return SideAnswers(
        managed + legacy, int(managed_bytes) + int(legacy_bytes), int(data_rows) if data_uuid else 0
    )


class SideConnection:
    """The side thread's connection, for the reader's thread to cancel its query.

    The reader may give up before the thread has connected, between its queries or
    after it has closed the connection: once ``cancel`` is called no query starts, and
    a connection is only cancelled while it is open (the lock keeps the thread from
    closing it under a cancel).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: Any = None
        self._cancelled = False

    @contextlib.contextmanager
    def using(self, conn: Any) -> Iterator[None]:
        with self._lock:
            self._conn = conn
        try:
            yield
        finally:
            with self._lock:
                self._conn = None

    def go_on(self) -> None:
        """Before each query: raise when the reader has given up."""
        if self._cancelled:
            raise DbCancelled()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._conn is not None:
                # Thread-safe in psycopg 3 (libpq's cancel request). Should it not reach
                # the server, the query's own connection fails soon and ends the thread.
                with contextlib.suppress(Exception):
                    self._conn.cancel()


def ask_aside(
    db: DbSettings, managed_uuid: str | None, data_uuid: str | None, ctx: MergeContext
) -> Ahead[SideAnswers]:
    """Start the side queries; iterating the result gives the one answer (or raises)."""

    side = SideConnection()

    def run() -> list[list[SideAnswers]]:
        with read_only_connection(db) as conn, side.using(conn):
            queries.install_byte_loaders(conn)
            side.go_on()
            answers = counts(conn, managed_uuid, data_uuid)
            ctx.rows_total = answers.rows  # the progress bar's total, as soon as known
            if not ctx.hash_total_bytes:
                ctx.hash_total_bytes = answers.bytes
            side.go_on()
            answers.usage = usage_rows(conn)
        return [[answers]]

    # on_wait: the reader waiting for these answers still reports progress and honours
    # a cancel; on_close: leaving early does not wait for a whole-table scan to end.
    return Ahead(run, depth=1, name="omero-tui-db-side", on_close=side.cancel, on_wait=ctx.tell)
