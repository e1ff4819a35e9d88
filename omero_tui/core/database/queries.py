"""The SQL the check runs: OMERO's table and column names (see SCHEMA_NOTES.md).

Paths are sorted ``COLLATE "C"`` (byte order, whatever the database's locale) and
fetched as raw bytes, so the merge with the disk walk compares like with like and a
row holding bytes that are not UTF-8 becomes a finding instead of a decoding error.
Rows are read through a server-side cursor: the client holds one batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

BATCH_ROWS = 5000
GROUP_BATCH = 1000  # directories (of rows each) per fetch of the grouped queries
MAX_ID_LEVELS = 6  # int8 ids stay below 1000**7, so at most six Dir-%03d levels

# Columns the check cannot do without, per table; checked before anything is read.
REQUIRED: dict[str, tuple[str, ...]] = {
    "originalfile": (
        "id",
        "path",
        "name",
        "size",
        "hash",
        "mimetype",
        "repo",
        "owner_id",
        "group_id",
    ),
    "experimenter": ("id", "omename"),
    "experimentergroup": ("id", "name"),
}
# Columns that only some parts need; without them those parts are skipped and said so.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "originalfile": ("hasher",),
    "checksumalgorithm": ("id", "value"),
    "pixels": ("id", "image", "owner_id", "group_id"),
    "image": ("id", "fileset"),
    "thumbnail": ("id", "owner_id", "group_id"),
    "configuration": ("name", "value"),
}


def numbered_sql(column: str) -> str:
    """OMERO's ``Dir-%03d`` path of an id, in SQL (ome.io.nio.AbstractFileSystemService)."""
    return f"({numbered_parent_sql(column)} || {column}::text)"


def numbered_parent_sql(column: str) -> str:
    """The ``Dir-%03d/`` levels alone of ``numbered_sql``: the directory an id is in."""
    parts = [
        f"CASE WHEN {column} >= {1000**k} THEN 'Dir-' || "
        f"lpad(mod({column} / {1000**k}, 1000)::text, 3, '0') || '/' END"
        for k in range(MAX_ID_LEVELS, 0, -1)
    ]
    return f"concat({', '.join(parts)})"


# The grouped queries' inner rows: (parent dir, name, size, id, owner, group, is a folder).
# A managed name holding "/" cannot be told from a path; SLASHED_SQL reads those apart.
MANAGED_GROUPED_INNER = (
    "SELECT CASE WHEN o.path = '/' THEN '' ELSE o.path END COLLATE \"C\" AS d,"
    ' o.name COLLATE "C" AS name, o.size, o.id, o.owner_id, o.group_id,'
    " o.mimetype IS NOT DISTINCT FROM 'Directory' AS isdir"
    " FROM originalfile o WHERE o.repo = %s AND strpos(o.name, '/') = 0"
)


def numbered_grouped_inner(table: str, size: str, where: str) -> str:
    return (
        f'SELECT {numbered_parent_sql("t.id")} COLLATE "C" AS d,'
        f' t.id::text COLLATE "C" AS name, {size} AS size, t.id, t.owner_id, t.group_id,'
        f" false AS isdir FROM {table} {where}"
    )


LEGACY_GROUPED_INNER = numbered_grouped_inner(
    "originalfile t",
    "t.size",
    "WHERE t.repo IS NULL AND t.mimetype IS DISTINCT FROM 'Repository'",
)
THUMBNAILS_GROUPED_INNER = numbered_grouped_inner("thumbnail t", "NULL::int8", "")


def pixels_grouped_inner(has_fileset: bool) -> str:
    if not has_fileset:
        return numbered_grouped_inner("pixels t", "NULL::int8", "")
    # As pixels_sql: only images not imported through OMERO.fs have a Pixels file.
    return numbered_grouped_inner(
        "pixels t", "NULL::int8", "JOIN image i ON i.id = t.image WHERE i.fileset IS NULL"
    )


# A managed row's place under its repository's root: path is the parent plus "/"
# ("/" alone at the top), name the last component; folders get a trailing "/" like
# the disk walk's directories.
MANAGED_KEY = (
    "(CASE WHEN o.path = '/' THEN o.name ELSE o.path || o.name END"
    " || CASE WHEN o.mimetype = 'Directory' THEN '/' ELSE '' END)"
)


def install_byte_loaders(conn: Any) -> None:
    """Text columns come back as bytes: decoding is ours, so bad bytes are findings."""
    if conn.info.encoding == "ascii":
        return  # SQL_ASCII: psycopg's own loaders already give bytes, and faster
    from psycopg.adapt import Loader

    class RawText(Loader):
        def load(self, data: Any) -> bytes:
            return bytes(data)

    for name in ("text", "varchar", "bpchar", "name"):
        conn.adapters.register_loader(name, RawText)


def missing_columns(conn: Any, tables: dict[str, tuple[str, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name::text, column_name::text FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s)",
        [list(tables)],
    ).fetchall()
    have = {(_text(t), _text(c)) for t, c in rows}
    return [f"{t}.{c}" for t, cols in tables.items() for c in cols if (t, c) not in have]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def stream_batches(
    conn: Any, sql: str, params: Sequence[Any] = (), size: int = GROUP_BATCH
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of ``sql`` as lists of ``size`` rows, through a named (server-side) cursor."""
    with conn.cursor(name="omero_tui_batches") as cur:
        cur.execute(sql, params)
        while rows := cur.fetchmany(size):
            yield rows


def _hasher_sql(has_hasher: bool) -> tuple[str, str]:
    """(the hasher's column, its join): a schema older than the hasher column has neither."""
    if not has_hasher:
        return "NULL::text", ""
    return "ca.value", "LEFT JOIN checksumalgorithm ca ON ca.id = o.hasher"


def managed_rows_sql(has_hasher: bool) -> str:
    hasher, join = _hasher_sql(has_hasher)
    return (
        f"SELECT {MANAGED_KEY} AS k, o.id, o.size, o.hash, {hasher}, o.owner_id, o.group_id,"
        f" o.mimetype FROM originalfile o {join}"
        " WHERE o.repo = %s AND strpos(o.name, '/') = 0"
        f' ORDER BY {MANAGED_KEY} COLLATE "C"'
    )


def legacy_files_sql(has_hasher: bool) -> str:
    hasher, join = _hasher_sql(has_hasher)
    key = numbered_sql("o.id")
    return (
        f"SELECT {key} AS k, o.id, o.size, o.hash, {hasher}, o.owner_id, o.group_id,"
        f" o.mimetype FROM originalfile o {join}"
        " WHERE o.repo IS NULL AND o.mimetype IS DISTINCT FROM 'Repository'"
        f' ORDER BY {key} COLLATE "C"'
    )


def pixels_sql(has_fileset: bool) -> str:
    # Images imported through OMERO.fs (image.fileset set) are read from the managed
    # repository: only pre-FS images have a Pixels file.
    where = "WHERE i.fileset IS NULL" if has_fileset else ""
    join = "JOIN image i ON i.id = p.image" if has_fileset else ""
    key = numbered_sql("p.id")
    return (
        f"SELECT {key} AS k, p.id, NULL::int8, NULL::text, NULL::text, p.owner_id, p.group_id,"
        f' NULL::text FROM pixels p {join} {where} ORDER BY {key} COLLATE "C"'
    )


def thumbnails_sql() -> str:
    key = numbered_sql("t.id")
    return (
        f"SELECT {key} AS k, t.id, NULL::int8, NULL::text, NULL::text, t.owner_id, t.group_id,"
        f' NULL::text FROM thumbnail t ORDER BY {key} COLLATE "C"'
    )


REPOSITORIES_SQL = (
    "SELECT id, path, name, hash FROM originalfile WHERE mimetype = 'Repository' ORDER BY id"
)
DB_UUID_SQL = "SELECT value FROM configuration WHERE name = 'omero.db.uuid'"
# Summed per (owner, group) first, named after: joining the names to every row first
# made the server sort the whole table by name.
USAGE_SQL = (
    "SELECT u.owner_id, e.omename, u.group_id, g.name, u.files, u.bytes FROM ("
    "SELECT owner_id, group_id, count(*) AS files, coalesce(sum(size), 0) AS bytes"
    " FROM originalfile"
    " WHERE mimetype IS DISTINCT FROM 'Repository' AND mimetype IS DISTINCT FROM 'Directory'"
    " GROUP BY owner_id, group_id) u"
    " LEFT JOIN experimenter e ON e.id = u.owner_id"
    " LEFT JOIN experimentergroup g ON g.id = u.group_id"
    " ORDER BY u.bytes DESC, u.owner_id, u.group_id"
)
NAMES_SQL = (
    "SELECT 'e', id, omename FROM experimenter"
    " UNION ALL SELECT 'g', id, name FROM experimentergroup"
)
COUNT_MANAGED_SQL = "SELECT count(*), coalesce(sum(size), 0) FROM originalfile WHERE repo = %s"
COUNT_LEGACY_SQL = (
    "SELECT count(*), coalesce(sum(size), 0) FROM originalfile"
    " WHERE repo IS NULL AND mimetype IS DISTINCT FROM 'Repository'"
)
SLASHED_SQL = (
    f"SELECT {MANAGED_KEY}, o.id, o.size, o.owner_id, o.group_id FROM originalfile o"
    " WHERE o.repo = %s AND strpos(o.name, '/') > 0"
)
LEGACY_WHERE = "repo IS NULL AND mimetype IS DISTINCT FROM 'Repository'"
COUNTS_SQL = (
    "SELECT count(*) FILTER (WHERE repo = %s), coalesce(sum(size) FILTER (WHERE repo = %s), 0),"
    f" count(*) FILTER (WHERE {LEGACY_WHERE}),"
    f" coalesce(sum(size) FILTER (WHERE {LEGACY_WHERE}), 0),"
    " count(*) FILTER (WHERE repo = %s) FROM originalfile"
)
# The planner's row estimates (kept by autovacuum's ANALYZE): instant, unlike count(*).
ESTIMATES_SQL = (
    "SELECT relname::text, reltuples::int8 FROM pg_class"
    " WHERE relname IN ('originalfile', 'pixels', 'thumbnail')"
    " AND relnamespace = current_schema()::regnamespace"
)
PIXELS_KNOWN_SQL = "SELECT id FROM pixels WHERE id = ANY(%s)"
