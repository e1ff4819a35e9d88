"""The repository is NOT the server install, a client install or the PostgreSQL data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.findings import Finding, Severity
from omero_tui.core.layout.not_repository import (
    check_not_repository,
    client_install_kind,
    find_client_dirs,
    find_postgres_data_dirs,
    postgres_dir_from_args,
)


def location(data: Path, server: Path | None = None, managed: Path | None = None) -> ServerLocation:
    return ServerLocation(
        server_dir=Determined(str(server) if server else None, "from --server-dir"),
        config_path=None,
        profile=Determined("default", "test"),
        data_dir=Determined(str(data), "test"),
        managed_dir=Determined(str(managed or data / "ManagedRepository"), "test"),
    )


def check(loc: ServerLocation, **kwargs: object) -> list[Finding]:
    kwargs.setdefault("postgres_dirs", [])
    kwargs.setdefault("client_dirs", [])
    return check_not_repository(loc, **kwargs)  # type: ignore[arg-type]


def codes(findings: list[Finding]) -> dict[str, Severity]:
    return {f.code: f.severity for f in findings}


def make_server(path: Path) -> Path:
    (path / "etc" / "grid").mkdir(parents=True)
    (path / "bin").mkdir()
    (path / "bin" / "omero").write_text("#!/bin/sh\n")
    return path


def make_omero_py(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "omero").write_text("#!/bin/sh\n")
    (path / "lib" / "python" / "omero").mkdir(parents=True)
    return path


def make_pgdata(path: Path) -> Path:
    (path / "base").mkdir(parents=True)
    (path / "PG_VERSION").write_text("15\n")
    return path


# --- the server install -------------------------------------------------------------------


def test_data_dir_inside_server_dir_is_critical(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    data = server / "var" / "OMERO"
    data.mkdir(parents=True)
    findings = check(location(data, server))
    assert codes(findings) == {"layout.nested_server_dir": Severity.CRITICAL}
    (finding,) = findings
    assert finding.path == str(server)
    assert "is inside" in finding.message and "upgrade" in finding.message
    assert finding.area == "layout"


def test_data_dir_is_the_server_dir(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    (finding,) = check(location(server, server))
    assert finding.severity is Severity.CRITICAL
    assert f"The data dir is the OMERO.server install dir (from --server-dir), {server}:" in (
        finding.message
    )


def test_server_dir_inside_data_dir_is_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "OMERO"
    server = make_server(data / "OMERO.server-5.6.9")
    findings = check(location(data, server), data_children=["OMERO.server-5.6.9"])
    assert codes(findings) == {"layout.nested_server_dir": Severity.WARNING}
    assert "contains" in findings[0].message


def test_siblings_with_a_common_prefix_are_fine(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    data = tmp_path / "OMERO"
    data.mkdir()
    assert check(location(data, server)) == []


def test_stale_server_install_found_by_its_etc_grid(tmp_path: Path) -> None:
    # The upgrade moved the symlink to a new release; the data stayed in the old one.
    old = make_server(tmp_path / "OMERO.server-5.4.10")
    data = old / "data"
    data.mkdir()
    findings = check(location(data, server=None))
    assert codes(findings) == {"layout.nested_server_dir": Severity.CRITICAL}
    assert "etc/grid" in findings[0].message


def test_symlinked_data_dir_is_judged_by_where_it_leads(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    (server / "var").mkdir()
    (server / "var" / "OMERO").mkdir()
    (tmp_path / "OMERO").symlink_to(server / "var" / "OMERO")
    assert "layout.nested_server_dir" in codes(check(location(tmp_path / "OMERO", server)))


# --- client installs and user dirs ----------------------------------------------------------


def test_inside_an_omero_py_download_is_critical(tmp_path: Path) -> None:
    client = make_omero_py(tmp_path / "OMERO.py-5.19.2")
    data = client / "OMERO"
    data.mkdir()
    findings = check(location(data))
    assert codes(findings) == {"layout.nested_client_dir": Severity.CRITICAL}
    assert "OMERO.py" in findings[0].message


def test_a_server_is_not_mistaken_for_a_client(tmp_path: Path) -> None:
    server = make_server(tmp_path / "srv")
    (server / "lib" / "python" / "omero").mkdir(parents=True)
    assert client_install_kind(str(server)) is None


def test_client_markers(tmp_path: Path) -> None:
    insight = tmp_path / "OMERO.insight-5.8.3"
    (insight / "bin").mkdir(parents=True)
    (insight / "bin" / "omero-insight").write_text("")
    venv = tmp_path / "venv3"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "omero").write_text("")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert client_install_kind(str(insight)) == "an OMERO.insight install"
    assert "virtual environment" in (client_install_kind(str(venv)) or "")
    assert client_install_kind(str(tmp_path)) is None


def test_client_install_inside_the_repository(tmp_path: Path) -> None:
    data = tmp_path / "OMERO"
    make_omero_py(data / "OMERO.py")
    findings = check(location(data), data_children=["OMERO.py"])
    assert codes(findings) == {"layout.nested_client_dir": Severity.WARNING}


def test_inside_a_users_omero_dir_is_a_warning(tmp_path: Path) -> None:
    userdir = tmp_path / "home" / "omero-server" / "omero"
    data = userdir / "data"
    data.mkdir(parents=True)
    how = "the OMERO user dir of omero-server"
    findings = check(location(data), client_dirs=[(str(userdir), how)])
    assert codes(findings) == {"layout.nested_client_dir": Severity.WARNING}
    assert how in findings[0].message and "sessions" in findings[0].message


def test_a_user_dir_counts_as_contained_only_when_it_exists(tmp_path: Path) -> None:
    home = tmp_path / "home" / "omero"
    home.mkdir(parents=True)
    userdir = home / "omero"
    loc = location(home)  # the data dir is the server user's home, ~/omero not made yet
    assert check(loc, client_dirs=[(str(userdir), "user dir")]) == []
    userdir.mkdir()
    assert codes(check(loc, client_dirs=[(str(userdir), "user dir")])) == {
        "layout.nested_client_dir": Severity.WARNING
    }


def test_find_client_dirs(tmp_path: Path) -> None:
    found = find_client_dirs(location(tmp_path), env={"OMERO_USERDIR": str(tmp_path / "u")})
    assert found[0] == (str(tmp_path / "u"), "the OMERO user dir (from OMERO_USERDIR)")
    assert (os.path.expanduser("~/omero"), "the OMERO user dir of this console's user") in found
    assert len({os.path.realpath(p) for p, _ in found}) == len(found)


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-D", "/var/lib/pgsql/data"], "/var/lib/pgsql/data"),
        (["-D/var/lib/pgsql/data"], "/var/lib/pgsql/data"),
        (  # Debian: -D is the data dir, the config lives elsewhere
            [
                "-D",
                "/var/lib/postgresql/15/main",
                "-c",
                "config_file=/etc/postgresql/15/main/postgresql.conf",
            ],
            "/var/lib/postgresql/15/main",
        ),
        (["-D", "/etc/pg", "-c", "data_directory=/srv/pg"], "/srv/pg"),
        (["--data-directory=/srv/pg2"], "/srv/pg2"),
        (["-c", "data_directory='/srv/quoted'"], "/srv/quoted"),
        (["-p", "5432"], None),
        ([], None),
    ],
)
def test_postgres_dir_from_args(args: list[str], expected: str | None) -> None:
    assert postgres_dir_from_args(args) == expected


class FakeProcess:
    def __init__(
        self,
        pid: int,
        name: str,
        cmdline: list[str],
        cwd: str = "/",
        environ: dict[str, str] | None = None,
        denied: bool = False,
    ) -> None:
        self.pid, self._name, self._cmdline = pid, name, cmdline
        self._cwd, self._environ, self._denied = cwd, environ or {}, denied

    def name(self) -> str:
        return self._name

    def cmdline(self) -> list[str]:
        return self._cmdline

    def cwd(self) -> str:
        return self._cwd

    def environ(self) -> dict[str, str]:
        if self._denied:
            raise psutil.AccessDenied(self.pid)
        return self._environ


def test_find_postgres_from_processes_and_env() -> None:
    procs = [
        FakeProcess(
            900001,
            "postgres",
            ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"],
        ),
        FakeProcess(900002, "postgres", ["postgres: 15/main: checkpointer"]),
        FakeProcess(900003, "postmaster", ["postmaster", "-D", "data"], cwd="/var/lib/pgsql"),
        FakeProcess(900004, "postgres", ["postgres"], environ={"PGDATA": "/srv/env-pg"}),
        FakeProcess(900005, "postgres", ["postgres"], denied=True),
        FakeProcess(900006, "bash", ["bash", "-D", "/not/postgres"]),
    ]
    found = find_postgres_data_dirs(env={"PGDATA": "/srv/pgdata"}, processes=procs)
    assert found == [
        ("/srv/pgdata", "from the PGDATA environment variable"),
        ("/var/lib/postgresql/15/main", "postgres process 900001"),
        ("/var/lib/pgsql/data", "postgres process 900003"),
        ("/srv/env-pg", "postgres process 900004, PGDATA in its environment"),
    ]


def test_find_postgres_survives_a_failing_scan() -> None:
    def boom() -> Iterator[FakeProcess]:
        yield FakeProcess(900001, "postgres", ["postgres", "-D", "/var/lib/pg"])
        raise psutil.AccessDenied(1)

    assert find_postgres_data_dirs(env={}, processes=boom()) == []


def test_find_postgres_finds_a_real_process_named_postgres(tmp_path: Path) -> None:
    """Read from /proc, as on a host: a live process whose argv[0] is postgres."""
    pgdata = tmp_path / "pgdata"
    code = "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(60)"
    proc = subprocess.Popen(
        ["postgres", "-c", code, "-D", str(pgdata)],
        executable=sys.executable, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        found = find_postgres_data_dirs(env={})
    finally:
        proc.kill()
        proc.wait()
    assert (str(pgdata), f"postgres process {proc.pid}") in found


def test_find_postgres_reads_their_environment_and_working_dir_without_psutil(
    tmp_path: Path,
) -> None:
    """Live processes named postgres: one with PGDATA in its environment, one with a
    relative -D; read from /proc as psutil would, in an interpreter that never loads it."""
    code = "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(60)"
    (tmp_path / "cwd").mkdir()
    by_env = subprocess.Popen(
        ["postgres", "-c", code],
        executable=sys.executable, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PGDATA": str(tmp_path / "env-pg")},
    )  # fmt: skip
    by_cwd = subprocess.Popen(
        ["postgres", "-c", code, "-D", "rel-pg"],
        executable=sys.executable, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        cwd=tmp_path / "cwd",
    )  # fmt: skip
    probe = (
        "import json, sys\n"
        "from omero_tui.core.layout.known_dirs import find_postgres_data_dirs\n"
        "print(json.dumps([find_postgres_data_dirs(env={}), 'psutil' in sys.modules]))\n"
    )
    try:
        for proc in (by_env, by_cwd):
            assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
    finally:
        for proc in (by_env, by_cwd):
            proc.kill()
            proc.wait()
    found, psutil_loaded = json.loads(done.stdout)
    assert [
        str(tmp_path / "env-pg"),
        f"postgres process {by_env.pid}, PGDATA in its environment",
    ] in found
    assert [str(tmp_path / "cwd" / "rel-pg"), f"postgres process {by_cwd.pid}"] in found
    assert psutil_loaded is False


def test_find_postgres_live_does_not_raise() -> None:
    found = find_postgres_data_dirs(env={})
    assert all(os.path.isabs(path) and how for path, how in found)


def test_inside_a_running_postgres_data_dir(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    data = pgdata / "OMERO"
    data.mkdir(parents=True)
    findings = check(location(data), postgres_dirs=[(str(pgdata), "postgres process 42")])
    assert codes(findings) == {"layout.nested_postgres_dir": Severity.CRITICAL}
    assert "postgres process 42" in findings[0].message


def test_pg_version_in_an_ancestor_or_the_dir_itself(tmp_path: Path) -> None:
    pgdata = make_pgdata(tmp_path / "15" / "main")
    data = pgdata / "base" / "OMERO"
    data.mkdir()
    (finding,) = check(location(data))
    assert finding.code == "layout.nested_postgres_dir"
    assert finding.path == str(pgdata) and "PG_VERSION" in finding.message
    (finding,) = check(location(pgdata))
    assert "The data dir is a PostgreSQL data directory" in finding.message


def test_postgres_cluster_inside_the_repository(tmp_path: Path) -> None:
    data = tmp_path / "OMERO"
    make_pgdata(data / "pgdata")
    findings = check(location(data), data_children=["pgdata"])
    assert codes(findings) == {"layout.nested_postgres_dir": Severity.CRITICAL}
    assert "contains" in findings[0].message


def test_known_and_marked_postgres_dir_reported_once(tmp_path: Path) -> None:
    pgdata = make_pgdata(tmp_path / "pg")
    data = pgdata / "OMERO"
    data.mkdir()
    findings = check(location(data), postgres_dirs=[(str(pgdata), "from PGDATA")])
    assert len(findings) == 1


# --- the managed dir ----------------------------------------------------------------------------


def test_managed_dir_elsewhere_is_checked_too(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    data = tmp_path / "OMERO"
    data.mkdir()
    managed = server / "ManagedRepository"
    managed.mkdir()
    (finding,) = check(location(data, server, managed))
    assert finding.message.startswith("The managed dir is inside")
    assert finding.severity is Severity.CRITICAL


def test_default_managed_dir_adds_no_duplicates(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    data = server / "OMERO"
    (data / "ManagedRepository").mkdir(parents=True)
    findings = check(location(data, server))
    assert [f.message.split(" ")[1:3] for f in findings] == [["data", "dir"]]


def test_every_message_is_one_sentence_with_a_reason(tmp_path: Path) -> None:
    server = make_server(tmp_path / "OMERO.server")
    data = server / "OMERO"
    make_pgdata(data / "pg")
    make_omero_py(data / "py")
    findings = check(location(data, server), data_children=["pg", "py"])
    assert len(findings) == 3
    for finding in findings:
        assert finding.message.endswith(".") and ": " in finding.message
        assert finding.message.count(". ") == 0
