"""No output prints ``omero.db.pass``, nor a password inside a database URL.

Each command runs for real against a real PostgreSQL whose ``omero`` role has a password
with spaces, ``:``, ``@``, ``#``, ``/``, ``%`` and a quote (and against the demo's own
database, with its generated password); the check must still connect, so the secret is
really in use. Every form the password can take in an output is looked for: as typed,
Ice-escaped as config.xml stores it, and percent-encoded as a URL carries it.
``--show-password`` must reveal it, so these tests can fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from omero_tui.core.config.xml_file import read_config, write_config
from omero_tui.tui.app import OmeroTuiApp
from tests.appkit import demo_sources, every_panel_text
from tests.database.conftest import OMERO_PASSWORD, DemoDb

COMMANDS = (
    ["db"],
    ["db", "--json"],
    ["db", "--by-user"],
    ["db", "--by-user", "--json"],
    ["check"],
    ["check", "--json"],
    ["layout"],
    ["layout", "--json"],
    ["config", "get"],
    ["config", "get", "omero.db.pass"],
    ["config", "get", "omero.db.pass", "omero.db.name"],
    ["config", "get", "omero.db.name"],
    ["locks", "--json"],
    ["perms", "--json"],
    ["usage", "--json"],
    ["relocate", "--to", "/nonexistent-volume/OMERO", "--dry-run", "--json"],
)


def forms(password: str) -> list[str]:
    """The password as typed, Ice-escaped, percent-encoded, and its longest word."""
    longest = max(password.replace("#", " ").replace(":", " ").split(), key=len)
    return [password, password.replace("#", "\\#"), quote(password, safe=""), longest]


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        capture_output=True, text=True, timeout=180, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )  # fmt: skip


def assert_nothing_leaks(server_dir: Path, password: str, tmp_path: Path) -> dict[str, str]:
    outputs = {}
    for command in COMMANDS:
        done = run([*command, "--server-dir", str(server_dir)], tmp_path)
        output = done.stdout + done.stderr
        assert "Traceback" not in output, (command, output)
        for form in forms(password):
            assert form not in output, (command, form, output)
        outputs[" ".join(command)] = output
    return outputs


def test_no_command_prints_the_database_password(demo_db: DemoDb, tmp_path: Path) -> None:
    server_dir = demo_db.sandbox.server_dir
    outputs = assert_nothing_leaks(server_dir, OMERO_PASSWORD, tmp_path)
    assert '"verdict": "critical"' in outputs["db --json"]  # connected with the password
    shown = run(["config", "get", "--show-password", "--server-dir", str(server_dir)], tmp_path)
    assert OMERO_PASSWORD.replace("#", "\\#") in shown.stdout  # the tests above can fail


def test_no_command_prints_a_password_inside_a_database_url(
    demo_db: DemoDb, tmp_path: Path
) -> None:
    """A ``postgresql://user:password@/db?host=...`` URL as the database name (libpq's
    own connection functions expand it; psycopg does not, so the connection is refused
    and libpq's error quotes the URL back): shown everywhere with its password hidden."""
    cluster = demo_db.cluster
    url = (
        f"postgresql://omero:{quote(OMERO_PASSWORD, safe='')}@/{demo_db.dbname}"
        f"?host={quote(str(cluster.directory), safe='')}&port={cluster.port}"
    )
    config = demo_db.sandbox.config_path
    doc = read_config(config)
    props = doc.properties(doc.stored_profile)
    # Ice-escaped as config.xml stores it ('#' starts a comment).
    changes: dict[str, str | None] = {"omero.db.name": url.replace("#", "\\#")}
    changes.update({k: None for k in ("omero.db.pass", "omero.db.host", "omero.db.port")})
    assert all(k in props for k in changes)
    write_config(config, changes, env={})
    outputs = assert_nothing_leaks(demo_db.sandbox.server_dir, OMERO_PASSWORD, tmp_path)
    assert '"verdict": "unknown"' in outputs["db --json"], outputs["db --json"]
    for command in ("db", "db --json", "check --json", "config get omero.db.name"):
        assert "postgresql://omero:********@/" in outputs[command], outputs[command]


async def test_no_panel_shows_the_database_password(demo_db: DemoDb) -> None:
    app = OmeroTuiApp(demo_sources(demo_db.sandbox), initial_panel="tab-database")
    async with app.run_test(size=(120, 40)) as pilot:
        texts = await every_panel_text(pilot)
        assert app.screen.query_one("#database-panel").report is not None  # it connected
    for tab, text in texts.items():
        for form in forms(OMERO_PASSWORD):
            assert form not in text, (tab, form, text)


def test_the_demo_database_password_is_printed_nowhere(tmp_path: Path) -> None:
    """The demo's own database, with the password it generates."""
    from omero_tui.core.database.cluster import find_pg_bin
    from omero_tui.core.demo.session import DemoSession

    pytest.importorskip("psycopg", reason="psycopg is not installed")
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    with DemoSession(tmp_path / "demo", start_server=False, database=True) as session:
        if session.database is None or session.database.error:
            pytest.skip(f"the demo database did not start: {session.database.error}")
        doc = read_config(session.sandbox.config_path)
        password = doc.properties(doc.stored_profile)["omero.db.pass"]
        assert len(password) >= 12
        outputs = assert_nothing_leaks(session.sandbox.server_dir, password, tmp_path)
        assert '"verdict": "critical"' in outputs["db --json"]
