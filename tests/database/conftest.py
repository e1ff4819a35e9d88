"""A real PostgreSQL for the database tests: one throw-away cluster per test session.

Made with the machine's own initdb/pg_ctl (Debian's postgresql package; .ci/run
installs it when root), listening only on a unix socket in its own temp dir, run as a
non-root user when the tests run as root, output to a log file, stopped in a
finalizer. Without the binaries every test here skips, saying why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.database.cluster import ClusterError, LocalCluster, find_pg_bin
from omero_tui.core.database.connection import DbSettings, connect_kwargs
from omero_tui.core.database.demo_rows import DemoFaults, fill_demo_database
from omero_tui.core.demo.sandbox import DemoSandbox, build_demo

# Quotes, spaces, '@', ':', '/', '%' and '#': all break a hand-built connection string.
OMERO_PASSWORD = "s3cret pass:@/%'#word"
_names = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    try:
        cluster = LocalCluster.create()
    except ClusterError as err:
        pytest.skip(f"cannot make a PostgreSQL cluster here: {err}")
    try:
        cluster.start()
        quoted = OMERO_PASSWORD.replace("'", "''")
        cluster.admin_sql(f"CREATE ROLE omero LOGIN PASSWORD '{quoted}'")
        yield cluster
    finally:
        cluster.remove()


@dataclass
class DemoDb:
    sandbox: DemoSandbox
    cluster: LocalCluster
    dbname: str
    faults: DemoFaults

    @property
    def settings(self) -> DbSettings:
        return self.cluster.settings(self.dbname, "omero", OMERO_PASSWORD)

    def admin(self, *statements: str) -> None:
        self.cluster.admin_sql(*statements, dbname=self.dbname)


def new_database(cluster: LocalCluster, *, encoding: str = "UTF8") -> str:
    name = f"omero_{next(_names)}"
    cluster.admin_sql(
        f"CREATE DATABASE {name} OWNER omero ENCODING '{encoding}' TEMPLATE template0"
        " LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    return name


def fill(cluster: LocalCluster, dbname: str, box: DemoSandbox) -> DemoFaults:
    import psycopg

    kwargs = connect_kwargs(cluster.settings(dbname, "omero", OMERO_PASSWORD))
    kwargs.pop("options")  # the fixture writes; the console never does
    with psycopg.connect(**kwargs) as conn:
        return fill_demo_database(conn, box.data_dir, box.managed_dir, box.server_dir)


@pytest.fixture
def demo_db(pg_cluster: LocalCluster, tmp_path: Path) -> DemoDb:
    """A fresh demo sandbox and a database filled from it, config.xml pointing at it."""
    from omero_tui.core.config.xml_file import write_config

    box = build_demo(tmp_path / "demo")
    dbname = new_database(pg_cluster)
    faults = fill(pg_cluster, dbname, box)
    write_config(
        box.config_path,
        {
            "omero.db.host": str(pg_cluster.directory),
            "omero.db.port": str(pg_cluster.port),
            "omero.db.name": dbname,
            "omero.db.user": "omero",
            # In config.xml a '#' starts an Ice comment unless escaped (core/ice_values).
            "omero.db.pass": OMERO_PASSWORD.replace("#", "\\#"),
        },
        env={},
    )
    return DemoDb(box, pg_cluster, dbname, faults)
