"""Which database the active profile names, or why none can be checked.

Kept apart from ``check``: a command whose server names no database learns so here,
before the check's own modules (the merge, the disk walk, the worker pool) are loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.database.connection import (
    DatabaseUnavailable,
    DbSettings,
    settings_from_properties,
)
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.settings import DEMO_MARKER

PG_ENV = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")


class DatabaseNotConfigured(DatabaseUnavailable):
    """No ``omero.db.*`` setting and no libpq environment: nothing to connect to."""


def db_settings(location: ServerLocation, env: dict[str, str] | None = None) -> DbSettings:
    db = settings_from_properties(location.properties)
    env = dict(os.environ) if env is None else env
    sandbox = _demo_root(location)
    if sandbox is not None:
        # Here, not at the top: only a demo sandbox needs the cluster tools.
        from omero_tui.core.database.cluster import demo_database_refusal

        refusal = demo_database_refusal(sandbox, db.host)
        if refusal is not None:
            raise DatabaseUnavailable(refusal)
    if not db.configured and not any(env.get(k) for k in PG_ENV):
        where = location.config_path or "config.xml (no server dir found)"
        raise DatabaseNotConfigured(
            f"no database configured: omero.db.host, omero.db.name, omero.db.user and "
            f"omero.db.pass are not set in {where}"
        )
    return db


def _demo_root(location: ServerLocation) -> Path | None:
    """The demo sandbox this server dir is, if it is one (its root holds the marker)."""
    server_dir = location.server_dir.value
    if not server_dir:
        return None
    root = Path(server_dir).parent
    return root if location.demo or (root / DEMO_MARKER).is_file() else None
