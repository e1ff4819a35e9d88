"""The check's long queries on its main connection, waited for without blocking a cancel.

A whole-table count, or the first row of a query sorted by the server, can take
minutes on a big server; a thread blocked on the socket cannot look at the cancel
event. So the query runs in an ``Ahead`` thread while the check's own thread waits,
reporting progress and honouring the cancel (``ctx.tell``) every tick; leaving early
cancels the query on the server (``conn.cancel``) instead of waiting for it to end.
The check's thread does not use the connection while the query's thread does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from omero_tui.core.database import queries
from omero_tui.core.database.ahead import Ahead
from omero_tui.core.database.merge import MergeContext

T = TypeVar("T")


def answer(ctx: MergeContext, conn: Any, ask: Callable[[], T]) -> T:
    """What ``ask`` (one or more queries on ``conn``) returns."""
    with Ahead(
        lambda: [[ask()]],
        depth=1,
        name="omero-tui-db-answer",
        on_close=conn.cancel,
        on_wait=ctx.tell,
    ) as one:
        return next(iter(one))


def stream(
    ctx: MergeContext, conn: Any, sql: str, params: Sequence[Any], size: int
) -> Ahead[tuple[Any, ...]]:
    """The rows of ``sql`` in batches of ``size``, read ahead in a thread; leaving
    its ``with`` block frees the connection."""
    return Ahead(
        lambda: queries.stream_batches(conn, sql, params, size),
        name="omero-tui-db-rows",
        on_close=conn.cancel,
        on_wait=ctx.tell,
    )


@contextlib.contextmanager
def rows(
    ctx: MergeContext, conn: Any, sql: str, params: Sequence[Any] = ()
) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The rows of ``sql``, read a few batches ahead; the connection is free again
    once the block is left."""
    with stream(ctx, conn, sql, params, queries.BATCH_ROWS) as ahead:
        yield iter(ahead)
