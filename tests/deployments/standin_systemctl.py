"""A stand-in for ``systemctl``, for deployment models built in a temp root (systemd
itself cannot run in a test). Not systemd: it reads the model's unit files and does
what systemd would do with the parts OMERO installs use.

- ``start``: runs every ``ExecStartPre`` (``-`` prefix: failure ignored), then
  ``ExecStart``, each as ``User=`` with ``UMask=``, the unit's ``Environment=`` and
  ``EnvironmentFile=``, working dir ``/``, output to ``<root>/var/log/standin-journal.log``;
  ``Type=forking``: up once ``PIDFile=`` names a live process.
- ``stop``: ``ExecStop`` as ``User=``, then SIGTERM (and SIGKILL) for a main process
  that outlives it, as systemd's control-group kill would.
- ``is-active``, ``is-enabled``, ``show [--property=A,B] [--value]`` (Exec lines,
  Environment= and EnvironmentFiles in systemd's format), ``daemon-reload``.

Installed as ``<root>/usr/local/bin/systemctl`` by ``install_systemctl``; the model's
tests put that directory first on PATH.
"""

from __future__ import annotations

import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from omero_tui.core.config.systemd_unit import read_unit

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def install_systemctl(root: Path) -> Path:
    """Write ``<root>/usr/local/bin/systemctl``, bound to ``<root>``'s unit files."""
    bin_dir = root / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / "systemctl"
    launcher.write_text(
        f"#!{sys.executable}\n"
        '"""Stand-in systemctl of an omero-tui test deployment (not systemd)."""\n'
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.deployments.standin_systemctl import main\n"
        f"sys.exit(main({str(root)!r}, sys.argv[1:]))\n"
    )
    launcher.chmod(0o755)
    return bin_dir


def unit_path(root: str, name: str) -> Path:
    name = name if "." in name else name + ".service"
    return Path(root) / "etc" / "systemd" / "system" / name


def main(root: str, argv: Sequence[str]) -> int:
    args = [a for a in argv if a not in ("--no-pager", "--quiet", "-q", "--system")]
    quiet = "--quiet" in argv or "-q" in argv
    if not args:
        return _fail("stand-in systemctl: no command", 1)
    verb, rest = args[0], args[1:]
    if verb == "daemon-reload":
        return 0
    if verb == "show":
        return show(root, rest)
    if not rest:
        return _fail(f"Too few arguments for {verb}.", 1)
    path = unit_path(root, rest[-1])
    if verb == "is-enabled":
        wants = Path(root) / "etc" / "systemd" / "system" / "multi-user.target.wants" / path.name
        print("enabled" if wants.exists() else "disabled")
        return 0 if wants.exists() else 1
    if verb == "is-active":
        active = main_pid(path) is not None
        if not quiet:
            print("active" if active else "inactive")
        return 0 if active else 3
    if not path.is_file():
        return _fail(f"Failed to {verb} {path.name}: Unit {path.name} not found.", 5)
    if verb == "start":
        return start(root, path)
    if verb == "stop":
        return stop(root, path)
    if verb == "restart":
        return stop(root, path) or start(root, path)
    return _fail(f"stand-in systemctl: {verb} is not modelled", 1)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def service_entries(path: Path) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def main_pid(path: Path) -> int | None:
    if not path.is_file():
        return None
    pid_file = (service_entries(path).get("PIDFile") or [""])[0]
    try:
        pid = int(Path(pid_file).read_text().split()[0])
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else pid
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


def show(root: str, args: Sequence[str]) -> int:
    wanted: list[str] = []
    value_only = "--value" in args
    names = []
    it = iter(args)
    for arg in it:
        if arg.startswith("--property="):
            wanted += arg.split("=", 1)[1].split(",")
        elif arg in ("-p", "--property"):
            wanted += next(it, "").split(",")
        elif not arg.startswith("-"):
            names.append(arg)
    path = unit_path(root, names[-1] if names else "omero-server")
    entries = service_entries(path) if path.is_file() else {}
    known = {
        "LoadState": "loaded" if path.is_file() else "not-found",
        "FragmentPath": str(path) if path.is_file() else "",
        "ActiveState": "active" if main_pid(path) else "inactive",
        "MainPID": str(main_pid(path) or 0),
        "User": (entries.get("User") or [""])[0],
        "WorkingDirectory": (entries.get("WorkingDirectory") or [""])[-1],
    }
    for name in wanted or list(known):
        for value in shown_values(name, entries, known):
            print(value if value_only else f"{name}={value}")
    return 0


def shown_values(name: str, entries: dict[str, list[str]], known: dict[str, str]) -> list[str]:
    """One value per line, as systemd prints them: an Exec command as its
    ``{ path=... ; argv[]=... ; ... }`` record, Environment= words joined,
    each EnvironmentFiles entry with its ``(ignore_errors=...)``."""
    if name.startswith("Exec"):
        records = []
        for command in entries.get(name, []):
            argv = shlex.split(command.lstrip("-@:+!"))
            ignore = "yes" if command.startswith("-") else "no"
            records.append(
                f"{{ path={argv[0]} ; argv[]={' '.join(argv)} ; ignore_errors={ignore} ; "
                "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
            )
        return records
    if name == "Environment":
        words = [w for line in entries.get(name, []) for w in shlex.split(line)]
        return [" ".join(shlex.quote(w) for w in words)] if words else [""]
    if name == "EnvironmentFiles":
        return [
            f"{line.lstrip('-')} (ignore_errors={'yes' if line.startswith('-') else 'no'})"
            for line in entries.get("EnvironmentFile", [])
        ]
    return [known.get(name, "")]


class _Service:
    def __init__(self, root: str, path: Path) -> None:
        self.path = path
        self.entries = service_entries(path)
        self.unit = read_unit(str(path))
        self.journal = Path(root) / "var" / "log" / "standin-journal.log"
        self.journal.parent.mkdir(parents=True, exist_ok=True)

    def account(self) -> pwd.struct_passwd:
        name = (self.entries.get("User") or ["root"])[0]
        return pwd.getpwnam(name)

    def env(self, account: pwd.struct_passwd) -> dict[str, str]:
        env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
        env.update(
            HOME=account.pw_dir, USER=account.pw_name, LOGNAME=account.pw_name,
            SHELL=account.pw_shell,
        )  # fmt: skip
        for name, value, _ in self.unit.environment if self.unit else ():
            env[name] = value
        return env

    def run(self, command: str, timeout: float = 300.0) -> int:
        """One Exec line as systemd runs it; the exit status (ignored with ``-``)."""
        ignore = command.startswith("-")
        privileged = command.lstrip("-@:").startswith(("+", "!"))
        argv = shlex.split(command.lstrip("-@:+!"))
        account = self.account()
        kwargs: dict[str, object] = {}
        if not privileged and account.pw_uid != os.geteuid():
            groups = [g for g in os.getgrouplist(account.pw_name, account.pw_gid)]
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": groups}
        umask = int((self.entries.get("UMask") or ["0022"])[0], 8)
        with open(self.journal, "ab") as log:
            log.write(f"--- {self.path.name}: {command}\n".encode())
            log.flush()
            done = subprocess.run(
                argv, env=self.env(account), cwd="/", stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, timeout=timeout, check=False, umask=umask,
                **kwargs,  # type: ignore[arg-type]
            )  # fmt: skip
        return 0 if ignore else done.returncode


def start(root: str, path: Path) -> int:
    if main_pid(path) is not None:
        return 0
    service = _Service(root, path)
    try:
        service.account()
    except KeyError:
        return _job_failed(path, "Failed to determine user credentials (217/USER)")
    for command in service.entries.get("ExecStartPre", []):
        if service.run(command) != 0:
            return _job_failed(path, f"ExecStartPre failed: {command}")
    for command in service.entries.get("ExecStart", []):
        if service.run(command) != 0:
            return _job_failed(path, f"ExecStart failed: {command}")
    deadline = time.monotonic() + 10.0
    while main_pid(path) is None:  # Type=forking: up once the PID file names a live process
        if time.monotonic() > deadline:
            return _job_failed(path, "no live process in PIDFile")
        time.sleep(0.05)
    return 0


def stop(root: str, path: Path) -> int:
    pid = main_pid(path)
    if pid is None:
        return 0
    service = _Service(root, path)
    for command in service.entries.get("ExecStop", []):
        service.run(command)
    for sig, wait in ((None, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return 0
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not psutil.pid_exists(pid) or main_pid(path) != pid:
                return 0
            time.sleep(0.05)
    return 0


def _job_failed(path: Path, why: str) -> int:
    return _fail(
        f"Job for {path.name} failed because the control process exited with error code "
        f'({why}).\nSee "systemctl status {path.name}" for details.',
        1,
    )
