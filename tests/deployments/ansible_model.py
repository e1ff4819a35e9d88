"""An install made by ome/ansible-role-omero-server, built for real in a temp root.

``<root>/opt/omero/server`` is the role's basedir: ``OMERO.server`` is a symlink to the
versioned dir, ``config/00-omero-server.omero`` the role's template (``# Ansible
managed``, ``config drop default``, ``config set omero.data.dir ...``) and
``config/omero-server-config-update.sh`` the script the unit's ``ExecStartPre`` runs,
which loads every ``config/*.omero`` into config.xml at each start.
``<root>/etc/systemd/system/omero-server.service`` is the role's unit (``User=``,
``UMask=0002``, ``Type=forking``, ``PIDFile=``). The repository is ``<root>/OMERO``.

Stand-ins only for what cannot run here: the server and its ``bin/omero`` are the demo
sandbox's stand-ins (the root carries the demo marker, so the stand-in server agrees
to run on it), and ``systemctl`` is ``standin_systemctl``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from omero_tui.core.demo.sandbox import build_demo
from omero_tui.core.demo.standin_server import standin_pids
from tests.deployments.standin_systemctl import install_systemctl

VERSIONED = "OMERO.server-5.6.14-ice36"


def template(data_dir: Path, *, managed: bool = True) -> str:
    """00-omero-server.omero as the role renders it (defaults: reset, database managed)."""
    head = "# Ansible managed\n\n" if managed else "# kept by hand since the playbook retired\n\n"
    return (
        head + "config drop default\n\n"
        "config set omero.db.host localhost\n"
        "config set omero.db.user omero\n"
        "config set omero.db.name omero\n"
        "config set omero.db.pass omero\n\n"
        f"config set omero.data.dir {data_dir}\n\n"
        "# Additional custom options\n"
    )


@dataclass(frozen=True)
class AnsibleModel:
    root: Path
    basedir: Path
    server_dir: Path  # the OMERODIR symlink
    versioned: Path
    data_dir: Path
    omero_file: Path
    unit: Path
    bin_dir: Path  # holds the stand-in systemctl
    user: str

    @property
    def config_xml(self) -> Path:
        return self.server_dir / "etc" / "grid" / "config.xml"

    def env(self, state: Path) -> dict[str, str]:
        """The console's environment: a root shell with the stand-in systemctl on PATH
        and OMERODIR set (finding the server without it is discovery's business)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMERO", "CONFIG_"))}
        env.update(
            OMERODIR=str(self.server_dir),
            PATH=f"{self.bin_dir}:{env.get('PATH', '/usr/bin:/bin')}",
            XDG_STATE_HOME=str(state / "state"),
            XDG_CONFIG_HOME=str(state / "config"),
            OMERO_TUI_TESTONLY_START_SETTLE_S="0.2",
        )
        return env

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "systemctl"), *args],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False,
        )  # fmt: skip

    def is_active(self) -> bool:
        return self.systemctl("is-active", "--quiet", "omero-server").returncode == 0


def build_ansible_model(
    root: Path, *, managed: bool = True, user: str | None = None
) -> AnsibleModel:
    sandbox = build_demo(root)  # a repository and a stand-in server install, then laid out
    basedir = root / "opt" / "omero" / "server"
    basedir.mkdir(parents=True)
    versioned = basedir / VERSIONED
    shutil.move(str(sandbox.server_dir), versioned)
    server_dir = basedir / "OMERO.server"
    server_dir.symlink_to(VERSIONED)
    (root / "srv").mkdir()
    config = basedir / "config"
    config.mkdir()
    omero_file = config / "00-omero-server.omero"
    omero_file.write_text(template(sandbox.data_dir, managed=managed))
    script = config / "omero-server-config-update.sh"
    script.write_text(
        "#!/bin/sh\n# Ansible managed\n# Regenerate the omero-server configuration:\n"
        f"# {server_dir}/etc/grid/config.xml\n\nset -e\n\n"
        f'for f in {config}/*.omero; do\n    {server_dir}/bin/omero load "$f"\ndone\n'
    )
    script.chmod(0o555)
    user = user or current_user()
    units = root / "etc" / "systemd" / "system"
    (units / "multi-user.target.wants").mkdir(parents=True)
    unit = units / "omero-server.service"
    unit.write_text(role_unit(basedir, user))
    (units / "multi-user.target.wants" / unit.name).symlink_to(unit)
    if user != current_user():
        for path in (versioned, sandbox.data_dir):
            subprocess.run(["chown", "-R", f"{user}:", str(path)], check=True, timeout=60)
        # The stand-in `omero` runs as User=: with a python that account can run.
        launcher = versioned / "bin" / "omero"
        launcher.write_text(launcher.read_text().replace(sys.executable, python_for_others(), 1))
    bin_dir = install_systemctl(root)
    return AnsibleModel(
        root, basedir, server_dir, versioned, sandbox.data_dir, omero_file, unit, bin_dir, user
    )


def role_unit(basedir: Path, user: str) -> str:
    """``omero-server.service`` as the role's ``systemd-system-omero-server-service.j2``
    renders it with the role's defaults (no extra After=/Requires=, no LimitNOFILE)."""
    omerodir = basedir / "OMERO.server"
    return (
        "[Unit]\nDescription=OMERO.server\n"
        "# Requires: forces the dependency to be started\n"
        "# After: ensures this service starts after the dependency, but only if the\n"
        "# dependency is also started (PostgreSQL may be on a different server)\n"
        "After=postgresql-9.4.service\nAfter=postgresql-9.5.service\n"
        "After=postgresql-9.6.service\nAfter=network.service\n\n"
        f"[Service]\nUser={user}\nUMask=0002\nType=forking\n"
        f"PIDFile={omerodir}/var/master/master.pid\nRestart=no\nRestartSec=10\n"
        "# Allow up to 5 min for start/stop\nTimeoutSec=300\n"
        f"ExecStartPre={basedir}/config/omero-server-config-update.sh\n"
        f"ExecStart={omerodir}/bin/omero admin start\n"
        f"ExecStop={omerodir}/bin/omero admin stop\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@contextlib.contextmanager
def server_account() -> Iterator[str]:
    """A scratch server user (like the role's omero-server) when this root can make one
    whose processes can run this Python; else the current user, with the reason printed."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        print("stand-in server runs as the current user: creating users needs root")
        yield current_user()
        return
    name = f"otui_srv{secrets.token_hex(3)}"
    made = subprocess.run(
        ["useradd", "--no-create-home", "--user-group", "--shell", "/bin/false", name],
        capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False,
    )  # fmt: skip
    try:
        python = python_for_others()
        probe = subprocess.run(
            ["runuser", "-u", name, "--", python, "-c", STANDIN_IMPORTS],
            capture_output=True, cwd="/", stdin=subprocess.DEVNULL, timeout=60, check=False,
        )  # fmt: skip
        if made.returncode != 0 or probe.returncode != 0:
            why = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            print(f"stand-in server runs as the current user: {name} cannot run {python} {why[0]}")
            yield current_user()
        else:
            yield name
    finally:
        if made.returncode == 0:
            subprocess.run(["userdel", name], capture_output=True, timeout=30, check=False)


STANDIN_MODULE = "omero_tui.core.demo.standin_omero"
SYSTEM_PYTHON = "/usr/bin/python3"
# What the stand-in `omero` and server import besides the standard library.
STANDIN_NEEDS = ("psutil", "portalocker")
STANDIN_IMPORTS = f"import {STANDIN_MODULE}, {', '.join(STANDIN_NEEDS)}"


def python_for_others() -> str:
    """A python the scratch server account can run, that imports the stand-in server.

    This run's own interpreter often cannot serve: a venv made from a python under
    /root (pyenv) is behind a 0700 directory. Then a venv is made once from the
    system's python under /tmp (world-readable), with psutil installed by pip and this
    checkout on its path (a ``.pth`` file); one per checkout, reused across runs.
    """
    if all(p.stat().st_mode & 0o001 for p in Path(sys.executable).resolve().parents):
        return sys.executable
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return sys.executable  # the probe then fails and says so
    import fcntl
    import hashlib

    repo = Path(__file__).resolve().parents[2]
    tag = hashlib.sha256(str(repo).encode()).hexdigest()[:10]
    venv = Path("/tmp") / f"omero-tui-others-venv-{tag}"
    python = venv / "bin" / "python"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers (and other runs) make it once
        ready = python.exists() and subprocess.run(
            [str(python), "-c", STANDIN_IMPORTS],
            capture_output=True, timeout=60, check=False,
        ).returncode == 0  # fmt: skip
        if not ready:
            shutil.rmtree(venv, ignore_errors=True)
            _quietly([SYSTEM_PYTHON, "-m", "venv", str(venv)])
            _quietly([str(venv / "bin" / "pip"), "install", "-q", *STANDIN_NEEDS])
            for site in venv.glob("lib/python3*/site-packages"):
                (site / "omero_tui_checkout.pth").write_text(f"{repo}\n")
            _quietly(["chmod", "-R", "a+rX", str(venv)])
    return str(python)


def _quietly(argv: list[str]) -> None:
    subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=300, check=False)


def stop_model(model: AnsibleModel) -> None:
    """Stop the server however it was left, and every stand-in of the model."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        model.systemctl("stop", "omero-server")
    for server_dir in (model.server_dir, model.versioned):
        for pid in standin_pids(server_dir):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
