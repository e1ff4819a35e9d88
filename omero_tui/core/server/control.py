"""Stopping and starting the OMERO server: its own CLI, a systemd unit, the admin's own
command pair, or by hand.

Each controller only issues commands and reads a status; whether the server is really
stopped is proven separately (``server_state.prove_stopped``), never assumed from an
exit code. Commands are argument lists, never shell strings. As root, the ``omero`` CLI
(which refuses to run as root) is run as the server's user.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from omero_tui.core.demo.sandbox import is_demo_root
from omero_tui.core.record import frozen

DEFAULT_UNIT = "omero-server"
COMMAND_TIMEOUT_S = 900.0  # OMERO's own stop/start wait up to 300 s each


class ControlError(Exception):
    """A controller that cannot be set up from the settings; one line."""


@frozen
class RunAs:
    """Who runs a command: the server user when the console runs as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


@frozen
class CommandResult:
    ok: bool
    argv: tuple[str, ...]
    returncode: int | None  # None: not run (manual), timed out or could not start
    output: str  # the last few lines of its output, for the report

    def line(self) -> str:
        shown = self.output.strip().splitlines()[-1:] if self.output.strip() else []
        tail = f": {shown[0]}" if shown else ""
        return f"`{shlex.join(self.argv)}` exited {self.returncode}{tail}"


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    run_as: RunAs | None = None,
    timeout: float = COMMAND_TIMEOUT_S,
) -> CommandResult:
    """Run with captured output, no terminal, no shell."""
    argv = tuple(argv)
    full_env = dict(os.environ if env is None else env)
    kwargs: dict[str, object] = {}
    if run_as is not None:
        kwargs = {"user": run_as.uid, "group": run_as.gid, "extra_groups": list(run_as.groups)}
        full_env.update({"HOME": run_as.home, "USER": run_as.name, "LOGNAME": run_as.name})
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            env=full_env,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )
    except subprocess.TimeoutExpired:
        return CommandResult(False, argv, None, f"no answer after {timeout:g} s")
    except OSError as err:
        return CommandResult(False, argv, None, f"could not run it: {err.strerror or err}")
    output = "\n".join((done.stdout + "\n" + done.stderr).strip().splitlines()[-5:])
    return CommandResult(done.returncode == 0, argv, done.returncode, output)


class ServerController:
    kind = "manual"
    manual = False

    def describe(self) -> str:
        raise NotImplementedError

    def status(self) -> bool | None:
        """True running, False stopped, None when this controller cannot tell."""
        raise NotImplementedError

    def stop(self) -> CommandResult:
        raise NotImplementedError

    def start(self) -> CommandResult:
        raise NotImplementedError


class OmeroCliController(ServerController):
    kind = "omero"

    def __init__(
        self, program: Sequence[str], env: Mapping[str, str], run_as: RunAs | None = None
    ) -> None:
        self.program = tuple(program)
        self.env = dict(env)
        self.run_as = run_as

    def describe(self) -> str:
        who = f" as {self.run_as.name}" if self.run_as else ""
        return f"the server's own CLI ({shlex.join(self.program)} admin ...{who})"

    def _admin(self, verb: str, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        return run_command(
            [*self.program, "admin", verb], env=self.env, run_as=self.run_as, timeout=timeout
        )

    def status(self) -> bool | None:
        result = self._admin("status", timeout=120.0)
        if result.returncode is None:
            return None
        return result.returncode == 0  # OMERO: exit 0 means running

    def stop(self) -> CommandResult:
        return self._admin("stop")

    def start(self) -> CommandResult:
        return self._admin("start")


class SystemdController(ServerController):
    kind = "systemd"

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def describe(self) -> str:
        return f"the systemd unit {self.unit}"

    def status(self) -> bool | None:
        result = run_command(["systemctl", "is-active", "--quiet", self.unit], timeout=60.0)
        if result.returncode is None:
            return None
        return result.returncode == 0

    def stop(self) -> CommandResult:
        return run_command(["systemctl", "stop", self.unit])

    def start(self) -> CommandResult:
        return run_command(["systemctl", "start", self.unit])


class CustomController(ServerController):
    kind = "custom"

    def __init__(
        self,
        start: Sequence[str],
        stop: Sequence[str],
        status_from: ServerController | None = None,
    ) -> None:
        self.start_argv, self.stop_argv = tuple(start), tuple(stop)
        self.status_from = status_from

    def describe(self) -> str:
        return f"the commands `{shlex.join(self.stop_argv)}` / `{shlex.join(self.start_argv)}`"

    def status(self) -> bool | None:
        return self.status_from.status() if self.status_from is not None else None

    def stop(self) -> CommandResult:
        return run_command(self.stop_argv)

    def start(self) -> CommandResult:
        return run_command(self.start_argv)


class ManualController(ServerController):
    """The admin stops and starts the server; the console only verifies."""

    kind = "manual"
    manual = True

    def __init__(self, status_from: ServerController | None = None) -> None:
        self.status_from = status_from

    def describe(self) -> str:
        return "by hand (the admin stops and starts the server; the console verifies)"

    def status(self) -> bool | None:
        return self.status_from.status() if self.status_from is not None else None

    def stop(self) -> CommandResult:
        return CommandResult(True, (), None, "stopped by the admin")

    def start(self) -> CommandResult:
        return CommandResult(True, (), None, "started by the admin")


def command_argv(value: object, what: str) -> tuple[str, ...]:
    """A settings command: a TOML array of strings, or a string split like a shell would."""
    if isinstance(value, str):
        argv = tuple(shlex.split(value))
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        argv = tuple(value)
    else:
        raise ControlError(f"server.{what} must be a command (a string or a list of strings)")
    if not argv:
        raise ControlError(f"server.{what} is empty")
    return argv


def omero_cli(
    server_dir: str | None, env: Mapping[str, str], run_as: RunAs | None
) -> OmeroCliController | None:
    """``$OMERODIR/bin/omero`` (OMERO 5.2+), else ``omero`` on PATH with OMERODIR set."""
    if not server_dir:
        return None
    full_env = {**env, "OMERODIR": server_dir}
    demo = _is_demo(server_dir)
    if demo:  # an OMERO_CONFIG meant for the admin's real server names no demo profile
        full_env.pop("OMERO_CONFIG", None)
    local = Path(server_dir) / "bin" / "omero"
    if local.is_file() and os.access(local, os.X_OK):
        return OmeroCliController([str(local)], full_env, None if demo else run_as)
    found = shutil.which("omero", path=env.get("PATH"))
    if found:
        return OmeroCliController([found], full_env, run_as)
    return None


def _is_demo(server_dir: str) -> bool:
    return is_demo_root(Path(server_dir).parent)


def systemd_unit_known(unit: str) -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = run_command(["systemctl", "show", "--property=LoadState", "--value", unit], timeout=30)
    return result.ok and result.output.strip() == "loaded"


def choose_controller(
    server_dir: str | None,
    *,
    control: str | None = None,
    unit: str | None = None,
    start_command: object = None,
    stop_command: object = None,
    env: Mapping[str, str] | None = None,
    run_as: RunAs | None = None,
) -> ServerController:
    """The controller the settings ask for, else the first that fits: a loaded systemd
    unit, the server's CLI, or by hand. A demo sandbox always uses its stand-in CLI."""
    env = dict(os.environ if env is None else env)
    cli = omero_cli(server_dir, env, run_as)
    if server_dir and _is_demo(server_dir) and cli is not None:
        return cli
    unit = unit or DEFAULT_UNIT
    if control == "omero":
        if cli is None:
            raise ControlError("server.control is omero, but no bin/omero or omero on PATH")
        return cli
    if control == "systemd":
        return SystemdController(unit)
    if control == "custom":
        start = command_argv(start_command, "start_command")
        stop = command_argv(stop_command, "stop_command")
        return CustomController(start, stop, cli)
    if control == "manual":
        return ManualController(cli)
    if control:
        raise ControlError(
            f"server.control {control!r} is not one of omero, systemd, custom, manual"
        )
    if systemd_unit_known(unit):
        return SystemdController(unit)
    if cli is not None:
        return cli
    return ManualController()
