"""Connect to OMERO's database read-only, from the active profile's ``omero.db.*``.

Parameters go to libpq as separate keyword arguments, never a hand-built connection
string, so a password with spaces, quotes, ``@`` or ``#`` means what it says. Whatever
is not set is left to libpq's usual fallbacks (``PGHOST``/``PGPASSFILE``/``~/.pgpass``,
the unix socket, peer authentication). Every session is read-only at two levels (the
session default and each transaction) and has a statement timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from omero_tui.core.json_output import HIDDEN, hide_url_passwords
from omero_tui.core.record import field, frozen

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

    import psycopg

DB_KEYS = ("omero.db.host", "omero.db.port", "omero.db.name", "omero.db.user", "omero.db.pass")
STATEMENT_TIMEOUT_MS = 10 * 60 * 1000  # the whole-table scans of a big server are minutes
CONNECT_TIMEOUT_S = 10
INSTALL_HINT = "pip install 'psycopg[binary]'"


class DatabaseUnavailable(Exception):
    """A refusal: ``str(err)`` is one line saying why and which setting to check."""


@frozen
class DbSettings:
    host: str | None
    port: int | None
    name: str | None
    user: str | None
    password: str | None = field(default=None, repr=False)  # never printed, never stored
    source: str = "config.xml"

    @property
    def configured(self) -> bool:
        return any((self.host, self.name, self.user, self.password))

    def describe(self) -> str:
        """Where the console connects, without the password (nor one in a URL that
        libpq takes as the database name)."""
        where = self.host or "local socket"
        port = f":{self.port}" if self.port else ""
        name = self.name or "(default db)"
        return hide_url_passwords(f"{self.user or '(default user)'}@{where}{port}/{name}")

    def to_json(self) -> dict[str, Any]:
        hide = hide_url_passwords
        return {
            "host": hide(self.host) if self.host else self.host,
            "port": self.port,
            "name": hide(self.name) if self.name else self.name,
            "user": self.user,
            "password_set": bool(self.password),
            "source": self.source,
        }


def settings_from_properties(properties: Mapping[str, str]) -> DbSettings:
    """The active profile's ``omero.db.*`` (already unescaped and resolved by discovery)."""

    def get(key: str) -> str | None:
        value = properties.get(key)
        return value if value else None

    port_text = get("omero.db.port")
    port: int | None = None
    if port_text is not None:
        try:
            port = int(port_text)
        except ValueError:
            raise DatabaseUnavailable(
                f"omero.db.port is {port_text!r}, not a port number: check it in config.xml"
            ) from None
    return DbSettings(
        host=get("omero.db.host"),
        port=port,
        name=get("omero.db.name"),
        user=get("omero.db.user"),
        password=get("omero.db.pass"),
    )


def connect_kwargs(db: DbSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "omero-tui (read-only)",
        # The session default as well as each transaction: nothing can write by accident.
        "options": (
            f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        ),
    }
    for key, value in (
        ("host", db.host),
        ("port", db.port),
        ("dbname", db.name),
        ("user", db.user),
        ("password", db.password),
    ):
        if value is not None:
            kwargs[key] = value
    return kwargs


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as err:
        raise DatabaseUnavailable(
            f"psycopg (PostgreSQL driver) is not installed: {INSTALL_HINT}"
        ) from err
    return psycopg


@contextlib.contextmanager
def read_only_connection(db: DbSettings) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose every transaction is READ ONLY; refusals are one line."""
    psycopg = _psycopg()
    try:
        # SQL_ASCII: text comes back as the bytes the database holds, undecoded (a row
        # that is not UTF-8 is a finding, not an error) and at C speed.
        conn = psycopg.connect(**connect_kwargs(db), client_encoding="SQL_ASCII")
    except psycopg.Error as err:
        raise DatabaseUnavailable(explain_connect_error(db, err)) from None
    try:
        conn.read_only = True
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.rollback()  # read-only: there is never anything to commit
        conn.close()


def explain_connect_error(db: DbSettings, err: Exception) -> str:
    first = next((line for line in str(err).splitlines() if line.strip()), "")
    text = " ".join(first.split()).removeprefix("connection failed: ") or type(err).__name__
    # libpq's message may quote the conninfo or a URL; never let a password through.
    if db.password:
        text = text.replace(db.password, HIDDEN)
    text = hide_url_passwords(text)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "check omero.db.user and omero.db.pass (or ~/.pgpass)"
    elif "does not exist" in low and "database" in low:
        hint = "check omero.db.name"
    elif "role" in low and "does not exist" in low:
        hint = "check omero.db.user"
    elif "peer authentication failed" in low or "ident authentication" in low:
        hint = "run as the database's user or set omero.db.user and omero.db.pass"
    elif "timeout" in low or "could not connect" in low or "connection refused" in low:
        hint = "is PostgreSQL running? check omero.db.host and omero.db.port"
    elif "no such file or directory" in low:
        hint = "no PostgreSQL socket there: check omero.db.host and omero.db.port"
    else:
        hint = "check omero.db.host, omero.db.port, omero.db.name and omero.db.user"
    last = text.split(" FATAL: ")[-1] if " FATAL: " in text else text
    if len(last) > 200:
        last = last[:197] + "..."
    return f"cannot reach OMERO's database {db.describe()}: {last} ({hint})"


def lost_connection(err: Exception, *, during: str) -> DatabaseUnavailable:
    text = hide_url_passwords(" ".join(str(err).split())) or type(err).__name__
    return DatabaseUnavailable(
        f"lost the database connection {during}: {text[:200]} (is PostgreSQL still running?)"
    )
