"""The consistency check: OMERO's database against the repository on disk, read-only.

``check_database`` connects with the active profile's ``omero.db.*``, compares every
area (ManagedRepository, Files, Pixels, Thumbnails) row by row with a sorted disk walk,
judges the recorded repository roots and identities, and sums usage per user and
group. It never writes the database and never opens a path taken from a row.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from omero_tui.core.database import cancellable, grouped, queries, side
from omero_tui.core.database.configured import DatabaseNotConfigured, db_settings
from omero_tui.core.database.connection import (
    DatabaseUnavailable,
    DbSettings,
    lost_connection,
    read_only_connection,
)
from omero_tui.core.database.disk_walk import walk_sorted
from omero_tui.core.database.findings import judge
from omero_tui.core.database.merge import (
    DbCancelled,
    MergeContext,
    RowOrderError,
    merge_area,
    show,
)
from omero_tui.core.database.model import AreaTotals, DbProgress, DbReport, DbRepository
from omero_tui.core.database.walk_workers import WalkFailed
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.layout.identity import read_identity

__all__ = [
    "DatabaseNotConfigured",
    "DatabaseUnavailable",
    "DbCancelled",
    "check_database",
    "db_settings",
    "recorded_roots",
    "usage_only",
]

# Tables whose planner estimate reaches this many rows get their area walked by worker
# processes; below it, starting them costs more than it saves.
PARALLEL_FROM = 50_000
TABLES = {"Files": "originalfile", "Pixels": "pixels", "Thumbnails": "thumbnail"}


def check_database(
    location: ServerLocation,
    *,
    verify_hash: bool = False,
    progress: Callable[[DbProgress], None] | None = None,
    cancel: threading.Event | None = None,
    db: DbSettings | None = None,
) -> DbReport:
    """The full check; DatabaseUnavailable (one line) when it cannot be made."""
    started = time.monotonic()
    db = db or db_settings(location)
    psycopg = _psycopg()
    if progress is not None:
        progress(DbProgress("connecting", 0, 0, 0))
    with read_only_connection(db) as conn:
        try:
            report = _check(conn, db, location, verify_hash, progress, cancel)
        except psycopg.errors.UndefinedColumn as err:
            raise DatabaseUnavailable(_schema_words(err)) from None
        except psycopg.errors.UndefinedTable as err:
            raise DatabaseUnavailable(_schema_words(err)) from None
        except psycopg.errors.QueryCanceled as err:
            raise DatabaseUnavailable(
                f"the database cancelled a query (statement timeout?): {_one_line(err)}"
            ) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            raise lost_connection(err, during="during the check") from None
        except psycopg.Error as err:
            raise DatabaseUnavailable(f"the database refused a query: {_one_line(err)}") from None
        except (RowOrderError, WalkFailed) as err:
            raise DatabaseUnavailable(str(err)) from None
    report.elapsed_seconds = time.monotonic() - started
    report.findings = judge(report, location)
    return report


def usage_only(location: ServerLocation, *, db: DbSettings | None = None) -> DbReport:
    """Only the per-user and per-group sums: one query, no disk walk."""
    db = db or db_settings(location)
    psycopg = _psycopg()
    with read_only_connection(db) as conn:
        try:
            queries.install_byte_loaders(conn)
            _require_schema(conn)
            report = _empty_report(conn, db, location)
            report.usage = side.usage_rows(conn)
        except psycopg.Error as err:
            raise lost_connection(err, during="reading usage") from None
    return report


def recorded_roots(location: ServerLocation, *, db: DbSettings | None = None) -> dict[str, str]:
    """uuid -> ``path || name`` of every Repository row: where the server says it is."""
    db = db or db_settings(location)
    psycopg = _psycopg()
    with read_only_connection(db) as conn:
        try:
            queries.install_byte_loaders(conn)
            rows = conn.execute(queries.REPOSITORIES_SQL).fetchall()
        except psycopg.Error as err:
            raise DatabaseUnavailable(f"cannot read the repositories: {_one_line(err)}") from None
    return {show(h or b""): show(p or b"") + show(n or b"") for _, p, n, h in rows}


def _psycopg() -> Any:
    import psycopg

    return psycopg


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())[:200]


def _schema_words(err: Exception) -> str:
    return (
        f"this database does not have OMERO's schema as this console knows it "
        f"({_one_line(err)}): is omero.db.name an OMERO 5.x database?"
    )


def _require_schema(conn: Any) -> set[str]:
    gone = queries.missing_columns(conn, queries.REQUIRED)
    if gone:
        raise DatabaseUnavailable(
            f"this database lacks {', '.join(gone[:4])}: not an OMERO 5.x database, or one "
            "from another OMERO version (check omero.db.name)"
        )
    optional = queries.missing_columns(conn, queries.OPTIONAL)
    return set(optional)


def _empty_report(conn: Any, db: DbSettings, location: ServerLocation) -> DbReport:
    db_uuid = None
    try:
        with conn.transaction():
            row = conn.execute(queries.DB_UUID_SQL).fetchone()
        db_uuid = show(row[0]) if row and row[0] else None
    except Exception:  # noqa: BLE001 - an older schema without the configuration table
        db_uuid = None
    version = conn.info.server_version
    return DbReport(
        connection=db.to_json(),
        server_version=f"{version // 10000}.{version % 10000}",
        db_uuid=db_uuid,
        data_dir=location.data_dir.value or "",
        managed_dir=location.managed_dir.value or "",
    )


def _check(
    conn: Any,
    db: DbSettings,
    location: ServerLocation,
    verify_hash: bool,
    progress: Callable[[DbProgress], None] | None,
    cancel: threading.Event | None,
) -> DbReport:
    queries.install_byte_loaders(conn)
    absent = _require_schema(conn)
    report = _empty_report(conn, db, location)
    report.verify_hash = verify_hash
    report.absent_columns = sorted(absent)
    data_dir = location.data_dir.value or ""
    managed_dir = location.managed_dir.value or ""
    managed_uuid, data_uuid = _repositories(conn, report, data_dir, managed_dir)
    names = {
        (show(kind), int(ident)): show(name or b"")
        for kind, ident, name in conn.execute(queries.NAMES_SQL).fetchall()
    }
    has_hasher = "originalfile.hasher" not in absent and "checksumalgorithm.value" not in absent
    ctx = MergeContext(report, names, verify_hash, 0, 0, progress, cancel)
    if verify_hash:  # the ETA of the checksums needs the total before the first file
        ctx.phase = "counting"
        answers = cancellable.answer(ctx, conn, lambda: side.counts(conn, managed_uuid, data_uuid))
        ctx.rows_total, ctx.hash_total_bytes = answers.rows, answers.bytes
    with side.ask_aside(db, managed_uuid, data_uuid, ctx) as aside:
        _compare(conn, ctx, report, location, managed_uuid, has_hasher, absent)
        # The server may still be summing usage: the wait is reported as that phase.
        ctx.phase = "usage"
        answers = next(iter(aside))
    report.data_repo_rows = answers.data_repo_rows
    ctx.tell(force=True)
    report.usage = answers.usage
    report.by_owner = sorted(
        ctx.owners.values(),
        key=lambda t: (-(t.missing.bytes + t.size_differs.bytes), t.owner, t.group),
    )
    report.by_owner = [
        t
        for t in report.by_owner
        if t.missing.count or t.size_differs.count or t.hash_differs.count
    ]
    return report


def _compare(
    conn: Any,
    ctx: MergeContext,
    report: DbReport,
    location: ServerLocation,
    managed_uuid: str | None,
    has_hasher: bool,
    absent: set[str],
) -> None:
    """Every area, row against file; the areas' totals and findings go into ``report``."""
    verify_hash = ctx.verify_hash
    data_dir = location.data_dir.value or ""
    managed_dir = location.managed_dir.value or ""
    big = {show(name): int(rows) for name, rows in conn.execute(queries.ESTIMATES_SQL)}
    walk_errors: list[str] = []

    def on_error(key: bytes, err: OSError) -> None:
        walk_errors.append(f"{show(key) or '.'}: {err.strerror or err}")

    # ManagedRepository: rows of the managed repository's uuid, relative to its root.
    managed = AreaTotals("ManagedRepository", managed_dir)
    report.areas.append(managed)
    if managed_uuid is None:
        managed.checked = False
        managed.note = "no repository row matches the managed dir's identity"
    elif not os.path.isdir(managed_dir):
        managed.checked = False
        managed.note = "the managed dir does not exist"
        _only_rows(ctx, managed, queries.managed_rows_sql(has_hasher), [managed_uuid], conn)
    elif not verify_hash:
        grouped.check_area(
            ctx,
            managed,
            conn,
            queries.MANAGED_GROUPED_INNER,
            [managed_uuid],
            skip_top=(".omero",),
            on_error=on_error,
            parallel=big.get("originalfile", 0) >= PARALLEL_FROM,
        )
    else:
        entries = walk_sorted(
            os.fsencode(managed_dir),
            skip=lambda key, is_dir: key == b".omero/",
            on_error=on_error,
        )
        sql = queries.managed_rows_sql(has_hasher)
        with cancellable.rows(ctx, conn, sql, [managed_uuid]) as rows:
            merge_area(ctx, managed, rows, entries)
    if managed_uuid is not None:
        slashed = cancellable.answer(
            ctx, conn, lambda: conn.execute(queries.SLASHED_SQL, [managed_uuid]).fetchall()
        )
        grouped.note_slashed(ctx, managed, slashed)
    # Files, Pixels, Thumbnails under the data dir, named by id (Dir-%03d levels).
    has_fileset = "image.fileset" not in absent
    no_pixels = bool({"pixels.id", "pixels.image"} & absent)
    area_sql: dict[str, tuple[str, str] | None] = {
        "Files": (queries.legacy_files_sql(has_hasher), queries.LEGACY_GROUPED_INNER),
        "Pixels": None
        if no_pixels
        else (queries.pixels_sql(has_fileset), queries.pixels_grouped_inner(has_fileset)),
        "Thumbnails": None
        if "thumbnail.id" in absent
        else (queries.thumbnails_sql(), queries.THUMBNAILS_GROUPED_INNER),
    }
    for area, sql in area_sql.items():
        totals = AreaTotals(area, os.path.join(data_dir, area))
        report.areas.append(totals)
        if sql is None:
            totals.checked = False
            totals.note = f"this database has no {area.lower()} table as expected"
            continue
        pyramids: list[tuple[int, Any]] | None = [] if area == "Pixels" else None
        if not os.path.isdir(totals.directory):
            totals.note = "the directory does not exist"
        if verify_hash:
            entries = walk_sorted(os.fsencode(totals.directory), on_error=on_error)
            with cancellable.rows(ctx, conn, sql[0]) as rows:
                merge_area(ctx, totals, rows, entries, pyramids=pyramids)
        else:
            grouped.check_area(
                ctx,
                totals,
                conn,
                sql[1],
                [],
                sizes_recorded=area == "Files",
                pyramids=pyramids,
                on_error=on_error,
                parallel=big.get(TABLES[area], 0) >= PARALLEL_FROM,
            )
        if pyramids:
            _judge_pyramids(conn, report, totals, pyramids)
    report.walk_errors = walk_errors[:50]


def _only_rows(
    ctx: MergeContext, totals: AreaTotals, sql: str, params: list[Any], conn: Any
) -> None:
    with cancellable.rows(ctx, conn, sql, params) as rows:
        merge_area(ctx, totals, rows, iter(()))


def _judge_pyramids(conn: Any, report: DbReport, totals: AreaTotals, pyramids: list) -> None:
    known: set[int] = set()
    for start in range(0, len(pyramids), 10_000):
        ids = [pid for pid, _ in pyramids[start : start + 10_000]]
        known.update(int(r[0]) for r in conn.execute(queries.PIXELS_KNOWN_SQL, [ids]).fetchall())
    from omero_tui.core.database.merge import _orphan  # the same bookkeeping as the merge

    for pid, entry in pyramids:
        if pid in known:
            totals.kept_on_purpose.add(entry.size)
        else:
            _orphan(report, totals, entry)


def _norm(path: str) -> str:
    return os.path.normpath(path) if path else path


def _repositories(
    conn: Any, report: DbReport, data_dir: str, managed_dir: str
) -> tuple[str | None, str | None]:
    """Record every Repository row; return the managed and data dir repositories' uuids."""
    disk = {
        "managed dir": _disk_uuid(managed_dir, "managed dir", report.db_uuid),
        "data dir": _disk_uuid(data_dir, "data dir", report.db_uuid),
    }
    report.disk_identities = {role: uuid for role, uuid in disk.items()}
    configured = {"managed dir": managed_dir, "data dir": data_dir}
    rows = conn.execute(queries.REPOSITORIES_SQL).fetchall()
    for row_id, path, name, uuid_raw in rows:
        uuid = show(uuid_raw or b"")
        root = show(path or b"") + show(name or b"")
        role = next((r for r, u in disk.items() if u and u == uuid), None)
        if role is None and uuid == "ScriptRepo":
            role = "script repository"
        if role is None:
            # No identity on disk to go by: a root that equals a configured dir says it.
            role = next(
                (r for r, d in configured.items() if d and _norm(root) == _norm(d)), "unknown"
            )
        want = configured.get(role)
        matches = None if want is None else _norm(root) == _norm(want)
        report.repositories.append(DbRepository(int(row_id), uuid, root, role, want, matches))
    by_role = {r.role: r.uuid for r in report.repositories}
    return by_role.get("managed dir"), by_role.get("data dir")


def _disk_uuid(directory: str, role: str, db_uuid: str | None) -> str | None:
    if not directory:
        return None
    identity = read_identity(directory, role)
    entries = [e for e in identity.entries if e.repo_uuid]
    if db_uuid is not None:
        entries = [e for e in entries if e.db_uuid == db_uuid] or entries
    return entries[0].repo_uuid if len(entries) >= 1 else None
