"""Real deployments built in a temp root, and the real CLI run against them.

Only what cannot run here is a stand-in (Ice, Java, systemd, Docker): a server process
is ``standin_server_process.py`` started with icegridnode's or Blitz-0's argv and cwd;
a container is the files Docker would show inside it (``/.dockerenv``, ``/proc/1``...)
under a root the console is pointed at with ``OMERO_TUI_HOST_ROOT``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import new_config, render_config, with_changes
from omero_tui.core.layout.identity import encode_repo_uuid

STANDIN = Path(__file__).with_name("standin_server_process.py")
SUBDIRS = ("Pixels", "Files", "Thumbnails", "FullText", "ManagedRepository", "BioFormatsCache")
SERVER_UID = 4242  # the server user; a uid with no account here, as in many containers
CWD_MARK = "cwd-MARK-7f3a"  # the working directory's name, looked for in every output


@dataclass
class Install:
    root: Path
    server_dir: Path  # the OMERO.server symlink, as OMERODIR names it
    data_dir: Path
    lock: Path  # data dir's .omero/repository/<uuid>/.lock
    managed_lock: Path
    cwd: Path


def world_readable_root() -> Path:
    """A temp root every user can traverse (pytest's tmp_path is 0700 root's: the server
    user could not reach its repository there, a true CRITICAL, not the one we test)."""
    root = Path(tempfile.mkdtemp(prefix="omero-tui-deploy-", dir="/tmp"))
    root.chmod(0o755)
    return root


def write_config(server_dir: Path, props: dict[str, str], **profiles: dict[str, str]) -> None:
    doc = new_config()
    if props:
        doc = with_changes(doc, "default", props)
    for name, values in profiles.items():
        doc = with_changes(doc, name, values)
    grid = server_dir / "etc" / "grid"
    grid.mkdir(parents=True, exist_ok=True)
    (grid / "config.xml").write_bytes(render_config(doc))
    (grid / "templates.xml").write_text("<icegrid/>\n")


def make_repository(data_dir: Path, uid: int = SERVER_UID) -> tuple[Path, Path]:
    """A data dir as OMERO leaves it, owned by ``uid``; (its .lock, the managed .lock)."""
    db_uuid = str(uuid.uuid4())
    locks = []
    for repo in (data_dir, data_dir / "ManagedRepository"):
        ident = repo / ".omero" / "repository" / db_uuid
        ident.mkdir(parents=True)
        (ident / "repo_uuid").write_bytes(encode_repo_uuid(str(uuid.uuid4())))
        (ident / ".lock").touch()
        locks.append(ident / ".lock")
    for name in SUBDIRS:
        (data_dir / name).mkdir(exist_ok=True)
    (data_dir / "Pixels" / "1").write_bytes(b"pixels")
    for dirpath, dirnames, filenames in os.walk(data_dir):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), uid, uid)
    os.lchown(data_dir, uid, uid)
    return locks[0], locks[1]


def hand_install(root: Path, props: dict[str, str] | None = None, **profiles: dict) -> Install:
    """The OMERO docs' walk-through: a versioned dir behind an OMERO.server symlink."""
    base = root / "opt" / "omero" / "server"
    real = base / "OMERO.server-5.6.14-ice36"
    (real / "var" / "log").mkdir(parents=True)
    (real / "etc").mkdir(exist_ok=True)
    (real / "etc" / "internal.cfg").write_text("")
    (base / "OMERO.server").symlink_to(real.name)
    data = root / "srv" / "omero-data"
    data.mkdir(parents=True)
    lock, managed_lock = make_repository(data)
    default = {"omero.data.dir": str(data)} if props is None else props
    write_config(base / "OMERO.server", default, **profiles)
    os.chown(real / "var", SERVER_UID, SERVER_UID)
    os.chown(real / "var" / "log", SERVER_UID, SERVER_UID)
    cwd = root / CWD_MARK
    cwd.mkdir()
    return Install(root, base / "OMERO.server", data, lock, managed_lock, cwd)


@contextlib.contextmanager
def standin_process(
    argv0: str,
    args: Sequence[str],
    *,
    cwd: Path,
    locks: Sequence[Path] = (),
    uid: int | None = SERVER_UID,
    prefix: Sequence[str] = (),
) -> Iterator[subprocess.Popen[str]]:
    """A stand-in server process (argv[0] ``argv0``), stopped on the way out."""

    def drop() -> None:
        if uid is not None:
            os.setgid(uid)
            os.setuid(uid)

    script = cwd_script(cwd)
    argv = [*prefix, interpreter_for_others(), str(script), *args]
    if locks:
        argv += ["--lock", *map(str, locks)]
    proc = subprocess.Popen(
        [argv0, *argv[1:]] if not prefix else argv,
        executable=argv[0] if not prefix else None,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=drop if not prefix else None,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", "stand-in did not start"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def interpreter_for_others() -> str:
    """A python another uid may run: every directory up to it must be world-traversable
    (a venv under /root is not)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        path = Path(candidate).resolve()
        if path.exists() and all(p.stat().st_mode & 0o001 for p in path.parents):
            return str(path)
    pytest.skip("no python interpreter another uid could run for the stand-in server")


def cwd_script(cwd: Path) -> Path:
    """The stand-in's script copied beside the deployment, readable by the server user."""
    for parent in [cwd, *cwd.parents]:
        if parent.name.startswith("omero-tui-deploy-"):
            break
    else:
        parent = cwd
    copy = parent / STANDIN.name
    if not copy.exists():
        shutil.copyfile(STANDIN, copy)
        copy.chmod(0o644)
    return copy


def blitz_args(server_dir: Path) -> list[str]:
    config = server_dir / "var" / "master" / "servers" / "Blitz-0" / "config" / "config"
    return ["-Xmx2g", "-Domero.name=Blitz-0", f"--Ice.Config={config}"]


def icegridnode_args(server_dir: Path) -> list[str]:
    return [
        f"--Ice.Config={server_dir}/etc/internal.cfg",
        "--deploy",
        f"{server_dir}/etc/grid/default.xml",
    ]


def run_cli(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console, as an admin runs it: no OMERODIR, no settings file."""
    home = cwd / ".home"
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", *args],
        cwd=cwd,
        env={**base_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
