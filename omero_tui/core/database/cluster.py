"""A throw-away PostgreSQL cluster from the machine's own binaries (initdb, pg_ctl).

For the demo and the tests: it listens only on a unix socket in its own directory (no
TCP), runs as a non-root user when started by root (initdb refuses root), writes its
output to a log file (never to the caller's terminal) and is stopped by whoever
started it. The console's checks never use this module: on a real server they connect
to the real database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from omero_tui.core.database.connection import DbSettings
from omero_tui.core.record import mutable

INSTALL_WORDS = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) to try it"
SUPERUSER = "postgres"
# Where Debian's postgresql package puts its binaries (one dir per major version).
PG_LIB_GLOB = "/usr/lib/postgresql/*/bin/initdb"
# In a demo sandbox's root: why its database did not start (gone once it does).
DEMO_DB_NOTE = "demo-database-error.txt"
DEMO_STOCK_HOST = "localhost"  # what a demo's config.xml names until its cluster runs
CLUSTER_PREFIX = "omero-tui-pg-"


class ClusterError(Exception):
    """The cluster could not be made or started; ``str(err)`` is one line."""


def find_pg_bin() -> Path | None:
    """The newest Debian-style /usr/lib/postgresql/N/bin, or initdb on PATH."""
    found = sorted(
        glob.glob(PG_LIB_GLOB),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def demo_database_refusal(sandbox_root: Path, host: str | None) -> str | None:
    """Why a demo sandbox has no database to check, in one line; None when it has one.

    The demo names its own cluster's socket dir in config.xml once that cluster runs;
    until then its stock config.xml names localhost, and "cannot reach localhost" would
    send the admin looking for a server that was never meant to be there.
    """
    if not _demo_host(sandbox_root, host):
        return None  # the demo's running cluster, or settings someone chose: libpq says
    if find_pg_bin() is None:
        return f"the demo has no database: PostgreSQL is not on this machine; {INSTALL_WORDS}"
    try:
        why = " ".join((sandbox_root / DEMO_DB_NOTE).read_text(encoding="utf-8").split())
    except OSError:
        why = ""
    if why:
        return f"the demo's database did not start: {why[:200]}"
    return (
        "the demo's database is not running: it runs while the demo console is open "
        "(omero-tui --demo, or omero-tui demo --dir DIR)"
    )


def _demo_host(sandbox_root: Path, host: str | None) -> bool:
    """The demo's stock host, or the socket dir of a demo cluster that is gone."""
    if host == DEMO_STOCK_HOST:
        return True
    if not host or not os.path.isabs(host) or os.path.exists(host):
        return False
    ours = Path(host).name.startswith(CLUSTER_PREFIX) or Path(host).parent == sandbox_root
    return ours


def _runner() -> pwd.struct_passwd | None:
    """Who runs the cluster: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ClusterError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@mutable
class LocalCluster:
    directory: Path  # data/, the socket and the log live here
    bin_dir: Path
    password: str
    port: int = 5432
    running: bool = False

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def settings(
        self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None
    ) -> DbSettings:
        return DbSettings(
            str(self.directory),
            self.port,
            dbname,
            user,
            self.password if password is None else password,
        )

    @classmethod
    def create(cls, directory: Path | None = None, bin_dir: Path | None = None) -> LocalCluster:
        bin_dir = bin_dir or find_pg_bin()
        if bin_dir is None:
            raise ClusterError(f"PostgreSQL's initdb was not found: {INSTALL_WORDS}")
        runner = _runner()
        if directory is None or runner is not None:
            # As root the cluster's user must reach its directory: a fresh one in /tmp.
            directory = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX))
        directory.mkdir(parents=True, exist_ok=True)
        cluster = cls(directory, bin_dir, secrets.token_urlsafe(16))
        pwfile = directory / "pw"
        pwfile.write_text(cluster.password + "\n", encoding="utf-8")
        if runner is not None:
            for path in (directory, pwfile):
                os.chown(path, runner.pw_uid, runner.pw_gid)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-locale",
                "--auth-local=scram-sha-256",
                "--auth-host=reject",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(cluster.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # Socket only, in our own directory; durability is not needed for a fixture.
            conf.write(
                "\nlisten_addresses = ''\n"
                f"unix_socket_directories = '{directory}'\n"
                f"port = {cluster.port}\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 20\nshared_buffers = 16MB\n"
            )
        return cluster

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        runner = _runner()
        with open(self.directory / f"{tool}.out", "ab") as out:
            try:
                subprocess.run(
                    [str(self.bin_dir / tool), *args],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=timeout,
                    user=runner.pw_uid if runner else None,
                    group=runner.pw_gid if runner else None,
                    cwd=self.directory,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
                tail = ""
                with contextlib.suppress(OSError):
                    tail = (self.directory / f"{tool}.out").read_text(errors="replace")[-300:]
                raise ClusterError(f"{tool} failed: {err}; {' '.join(tail.split())}") from None

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        if not self.data.exists():
            return
        with contextlib.suppress(ClusterError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        self.running = False

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def admin_sql(self, *statements: str, dbname: str = "postgres") -> None:
        """Run statements as the superuser, autocommit (CREATE DATABASE needs it)."""
        import psycopg

        from omero_tui.core.database.connection import connect_kwargs

        kwargs = connect_kwargs(self.settings(dbname))
        kwargs.pop("options")  # the console's read-only guard is not for the fixture
        with psycopg.connect(**kwargs, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
