"""The official image (ome/omero-server-docker), built for real in a temp root: the
files Docker shows inside the container (``/.dockerenv``, PID 1's dumb-init entrypoint,
the server as ``omero admin start --foreground`` with its ``CONFIG_*`` environment, the
image's layout), and the console pointed at that root. The server's processes are
stand-ins; seen from the host, the containerised server is a stand-in in its own PID
namespace (``unshare``)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.config.sources import property_of_variable
from omero_tui.core.server.container import detect_container, variables_for
from tests.deployments.kit import (
    CWD_MARK,
    icegridnode_args,
    make_repository,
    run_cli,
    standin_process,
    world_readable_root,
    write_config,
)

# The console finds a server by scanning every process: tests that start server
# stand-ins run one at a time, so none sees another's.
pytestmark = pytest.mark.xdist_group("running-servers")

SERVER_PID = 61  # the `admin start --foreground` process, as numbered inside the container


@dataclass
class Container:
    root: Path
    server_dir: Path
    data_dir: Path
    cwd: Path
    env: dict[str, str]


def build_container(root: Path) -> Container:
    (root / ".dockerenv").touch()
    proc = root / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cmdline").write_bytes(
        b"/usr/local/bin/dumb-init\0/bin/bash\0/usr/local/bin/entrypoint.sh\0"
    )
    (proc / "1" / "cgroup").write_text("0::/\n")
    server = proc / str(SERVER_PID)
    server.mkdir()
    (server / "cmdline").write_bytes(
        b"/opt/omero/server/venv3/bin/python\0/opt/omero/server/venv3/bin/omero\0"
        b"admin\0start\0--foreground\0"
    )
    data = root / "OMERO"
    data.mkdir()
    make_repository(data)
    (server / "environ").write_bytes(
        f"CONFIG_omero_data_dir={data}\0CONFIG_omero_db_host=database\0"
        "CONFIG_omero_web_public_enabled=false\0OMERODIR=/opt/omero/server/OMERO.server\0".encode()
    )
    server_dir = root / "opt" / "omero" / "server" / "OMERO.server"
    (server_dir / "var" / "log").mkdir(parents=True)
    (root / "opt" / "omero" / "server" / "config").mkdir()
    write_config(server_dir, {"omero.data.dir": str(data), "omero.db.host": "database"})
    cwd = root / CWD_MARK
    cwd.mkdir()
    return Container(root, server_dir, data, cwd, {"OMERO_TUI_HOST_ROOT": str(root)})


@pytest.fixture
def container() -> Iterator[Container]:
    root = world_readable_root()
    try:
        yield build_container(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_config_variable_names_map_as_the_image_maps_them() -> None:
    assert property_of_variable("CONFIG_omero_data_dir") == "omero.data.dir"
    assert property_of_variable("CONFIG_omero_db_host") == "omero.db.host"
    assert property_of_variable("CONFIG_omero_web_public__enabled") == "omero.web.public_enabled"
    assert property_of_variable("CONFIG_omero_pixeldata_memoizer_dir") == (
        "omero.pixeldata.memoizer.dir"
    )
    assert property_of_variable("CONFIG_omero_fs_watchDir") == "omero.fs.watchDir"
    assert property_of_variable("CONFIG_a_b_c") == "a.b_c"  # left to right, no overlap
    assert property_of_variable("OMERODIR") is None
    env = {"CONFIG_omero_data_dir": "/OMERO", "CONFIG_omero_db_host": "db"}
    assert variables_for(["omero.data.dir"], env) == [
        ("CONFIG_omero_data_dir", "omero.data.dir", "/OMERO")
    ]


def test_container_is_detected_from_its_files(container: Container, tmp_path: Path) -> None:
    found = detect_container(container.root)
    assert found.inside and found.server_is_main and found.server_pid == SERVER_PID
    assert any("/.dockerenv" in e for e in found.evidence)
    assert any("--foreground" in e for e in found.evidence)
    plain = detect_container(tmp_path)  # an empty root: a plain host
    assert not plain.inside and not plain.server_is_main


def test_relocate_inside_the_container_refuses_before_stopping_the_standin(
    container: Container,
) -> None:
    config = container.server_dir / "etc" / "grid" / "config.xml"
    before = config.read_bytes()
    target = container.root / "NEW-OMERO"
    with standin_process(
        "icegridnode", icegridnode_args(container.server_dir), cwd=container.server_dir, uid=None
    ) as server:
        done = run_cli(
            ["relocate", "--server-dir", str(container.server_dir), "--to", str(target), "--yes"],
            cwd=container.cwd,
            env=container.env,
        )
        assert server.poll() is None  # still running: nothing was stopped
    assert done.returncode == 1
    error = done.stderr
    assert "inside the OMERO.server container" in error and "nothing was changed" in error
    assert f"-v {target}:{container.data_dir}" in error
    assert "CONFIG_omero_data_dir" in error  # it sets omero.data.dir, which a move changes
    assert "CONFIG_omero_db_host" not in error and "web_public" not in error
    assert config.read_bytes() == before
    assert container.data_dir.is_dir() and not target.exists()
    assert not (container.cwd / ".home" / "state" / "omero-tui" / "relocations").exists()


def test_layout_inside_the_container_says_so(container: Container) -> None:
    done = run_cli(
        ["layout", "--server-dir", str(container.server_dir)], cwd=container.cwd, env=container.env
    )
    assert "runs inside the OMERO.server container" in done.stdout
    assert "stopping the server stops the container" in " ".join(done.stdout.split())
    warned = run_cli(
        ["config", "set", "omero.db.host", "x", "--server-dir", str(container.server_dir)],
        cwd=container.cwd,
        env=container.env,
    )
    assert "rebuilt at every start" in warned.stderr


def test_check_inside_the_container_says_so_in_its_layout_area(container: Container) -> None:
    """``check`` locates without the deployment notes; its Layout area adds them (in the
    child that checks it while the scan runs), as ``layout`` shows them."""
    settings = container.cwd / "settings.toml"
    settings.write_text("[database]\ncheck = false\n")
    args = [
        "check",
        "--json",
        "--settings",
        str(settings),
        "--server-dir",
        str(container.server_dir),
    ]
    done = run_cli(args, cwd=container.cwd, env=container.env)
    layout = next(a for a in json.loads(done.stdout)["areas"] if a["area"] == "layout")
    inside = [f for f in layout["findings"] if f["code"] == "layout.inside_container"]
    assert inside and "stopping the server stops the container" in inside[0]["message"], layout


@pytest.mark.skipif(
    not shutil.which("unshare") or os.geteuid() != 0,
    reason="a process in another PID namespace needs unshare and root",
)
def test_repository_of_a_containerised_standin_seen_from_the_host(container: Container) -> None:
    host_root = container.root / "host"  # a plain host: no container files
    host_root.mkdir()
    env = {"OMERO_TUI_HOST_ROOT": str(host_root)}
    lock = next((container.data_dir / ".omero" / "repository").glob("*/.lock"))
    prefix = ["unshare", "--pid", "--fork"]
    with standin_process("java", [], cwd=container.root, locks=[lock], uid=None, prefix=prefix):
        layout = run_cli(
            ["layout", "--data-dir", str(container.data_dir)], cwd=container.cwd, env=env
        )
        assert "in use by a server in a container" in layout.stdout
        assert "another PID namespace" in layout.stdout
        target = container.root / "NEW-OMERO"
        done = run_cli(
            ["relocate", "--data-dir", str(container.data_dir), "--to", str(target), "--yes"],
            cwd=container.cwd,
            env=env,
        )
    assert done.returncode == 1
    assert "in use by a containerised server" in done.stderr
    assert f"-v {target}:{container.data_dir}" in done.stderr
    assert container.data_dir.is_dir() and not target.exists()
