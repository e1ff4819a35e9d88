"""The demo's own OMERO database: a throw-away PostgreSQL cluster with rows for its files.

Started by ``omero-tui --demo`` when the machine has PostgreSQL's binaries, filled from
the sandbox (with the deliberate faults of ``database.demo_rows``), named in the
sandbox's config.xml through the product's own writer, and stopped on quit. Without
the binaries the demo runs without it and ``error`` says what to install.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from omero_tui.core.config.xml_file import write_config
from omero_tui.core.database.cluster import DEMO_DB_NOTE, ClusterError, LocalCluster
from omero_tui.core.database.connection import connect_kwargs
from omero_tui.core.database.demo_rows import DemoFaults, fill_demo_database
from omero_tui.core.demo.sandbox import DemoSandbox


class DemoDatabase:
    def __init__(self) -> None:
        self.cluster: LocalCluster | None = None
        self.faults: DemoFaults | None = None
        self.error: str | None = None

    def start(self, box: DemoSandbox) -> bool:
        note = box.root / DEMO_DB_NOTE
        note.unlink(missing_ok=True)
        started = self._start(box)
        if self.error is not None:
            # For the Database panel and `omero-tui db`: they say why in one line.
            note.write_text(self.error + "\n", encoding="utf-8")
        return started

    def _start(self, box: DemoSandbox) -> bool:
        try:
            import psycopg
        except ImportError:
            self.error = "the demo database needs psycopg: pip install 'psycopg[binary]'"
            return False
        try:
            self.cluster = LocalCluster.create(box.root / "postgres")
            self.cluster.start()
            password = secrets.token_urlsafe(12)
            self.cluster.admin_sql(
                f"CREATE ROLE omero LOGIN PASSWORD '{password}'",
                "CREATE DATABASE omero OWNER omero",
            )
            settings = self.cluster.settings("omero", "omero", password)
            kwargs = connect_kwargs(settings)
            kwargs.pop("options")  # filling is the demo fixture's job; the console only reads
            with psycopg.connect(**kwargs) as conn:
                self.faults = fill_demo_database(
                    conn, box.data_dir, box.managed_dir, box.server_dir
                )
            write_config(
                box.config_path,
                {
                    "omero.db.host": str(self.cluster.directory),
                    "omero.db.port": str(self.cluster.port),
                    "omero.db.name": "omero",
                    "omero.db.user": "omero",
                    "omero.db.pass": password,
                },
                env={},
            )
        except (ClusterError, psycopg.Error, OSError) as err:
            self.error = f"demo database not started: {' '.join(str(err).split())[:200]}"
            self.stop()
            return False
        return True

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.remove()
            self.cluster = None

    @property
    def directory(self) -> Path | None:
        return self.cluster.directory if self.cluster else None


def standin_updates_roots(server_dir: Path, repo_dirs: list[Path]) -> list[str]:
    """What OMERO's server does at start, for the stand-in: set each repository row's root.

    The row whose ``hash`` is the directory's repo_uuid gets ``path`` (the parent with a
    trailing "/") and ``name`` of the directory in use, as ``AbstractRepositoryI`` does;
    returns the "Data directory moved" lines to log. Best effort: a demo without its
    database (or without psycopg) is left alone.
    """
    try:
        import psycopg
    except ImportError:
        return []
    from omero_tui.core.database.check import DatabaseUnavailable, db_settings
    from omero_tui.core.discovery import discover
    from omero_tui.core.layout.identity import read_identity

    try:
        db = db_settings(discover(server_dir_arg=str(server_dir), env={}, candidates=[]))
    except DatabaseUnavailable:
        return []
    kwargs = connect_kwargs(db)
    kwargs.pop("options")  # this is the server's own write, not the console's
    kwargs["connect_timeout"] = 3
    lines: list[str] = []
    try:
        with psycopg.connect(**kwargs) as conn:
            for repo_dir in repo_dirs:
                for entry in read_identity(repo_dir, "repository").entries:
                    if not entry.repo_uuid:
                        continue
                    row = conn.execute(
                        "SELECT path, name FROM originalfile WHERE hash = %s"
                        " AND mimetype = 'Repository'",
                        [entry.repo_uuid],
                    ).fetchone()
                    new_path, new_name = str(repo_dir.parent).rstrip("/") + "/", repo_dir.name
                    if row is None or (row[0], row[1]) == (new_path, new_name):
                        continue
                    conn.execute(
                        "UPDATE originalfile SET path = %s, name = %s WHERE hash = %s"
                        " AND mimetype = 'Repository'",
                        [new_path, new_name, entry.repo_uuid],
                    )
                    lines.append(
                        f"Data directory moved: {row[0]}{row[1]} updated to {new_path}{new_name}"
                    )
    except psycopg.Error:
        return lines
    return lines
