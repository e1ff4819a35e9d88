"""The demo sandbox's stand-in for OMERO's ``omero`` command, run by its ``bin/omero``.

It answers ``admin start|stop|restart|status``, ``config get|set|drop|load`` and
``load [--glob] FILE...`` (the ``.omero`` files an Ansible install's systemd unit
loads before every start) with OMERO's output lines, exit status and locking, so the
console drives it exactly as it drives a real server. The real ``omero`` refuses to
run as root; this one does not, because the demo must work for whoever tries it, an
admin in a root shell included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from omero_tui.core.demo.standin_server import (
    MODULE,
    PID_FILE,
    StandinError,
    is_standin,
    read_faults,
    repository_dirs,
    running_pid,
)

UNSUPPORTED = "omero-tui demo stand-in: unsupported command"
DEFAULT_WAIT_S = 10.0  # OMERO waits 300 s; the stand-in is up in well under a second
_POLL_S = 0.05


def main(server_dir: str | os.PathLike[str], argv: Sequence[str]) -> int:
    server_dir = Path(server_dir)
    args = list(argv)
    try:
        if args[:1] == ["admin"] and args[1:2] and args[1] in ADMIN:
            opts = _parser(f"omero admin {args[1]}", wait=True).parse_args(args[2:])
            return ADMIN[args[1]](server_dir, opts.wait)
        if args[:2] == ["config", "get"]:
            return config_get(server_dir, args[2:])
        if args[:2] == ["config", "set"]:
            return config_set(server_dir, args[2:])
        if args[:2] == ["config", "drop"]:
            return config_drop(server_dir, args[2:])
        if args[:2] == ["config", "load"]:
            return config_load(server_dir, args[2:])
        if args[:1] == ["load"]:
            return load(server_dir, args[1:])
    except (StandinError, OSError) as err:
        _err(str(err))
        return 1
    _err(UNSUPPORTED)
    return 2


def _parser(prog: str, *, wait: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    if wait:
        parser.add_argument(
            "--wait", type=float, default=DEFAULT_WAIT_S, help="seconds to wait for the operation"
        )
    return parser


def _out(line: str) -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -------------------------------------------------------------------------- admin


def admin_start(server_dir: Path, wait: float) -> int:
    if running_pid(server_dir) is not None:
        _err("Server already running")
        return 1
    # Config modules are imported only where needed: `admin status` must start fast.
    from omero_tui.core.config.lock import LockTimeout, exclusive_lock

    config = server_dir / "etc" / "grid" / "config.xml"
    try:
        # OMERO holds config.xml.lock for the whole start, waiting included; it never
        # waits for the lock itself.
        with exclusive_lock(config.with_name("config.xml.lock"), 0.0):
            return _start_locked(server_dir, wait)
    except LockTimeout as err:
        held = f" (held by {err.holder})" if err.holder else ""
        _err(f"Could not acquire lock on {config}{held}")
        return 1
    except OSError as err:
        _err(f"Could not acquire lock on {config}: {err.strerror or err}")
        return 1


def _start_locked(server_dir: Path, wait: float) -> int:
    data_dir, _ = repository_dirs(server_dir, os.environ)
    stale = sorted(data_dir.glob(".omero/repository/*/.lock"))
    if stale:  # OMERO's own warning; the server takes such files over
        _err(f"WARNING: lock files in {data_dir}")
        for path in stale:
            _err(str(path))
    log_dir = server_dir / "var" / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    master_out = log_dir / "master.out"
    _out("Waiting on startup. Use CTRL-C to exit")
    with open(master_out, "ab") as out:
        # Never the caller's stdout/stderr: a server holding a test runner's pipe hangs it.
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "--server-dir", str(server_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=server_dir,
        )
    pid_file = server_dir / PID_FILE
    deadline = time.monotonic() + wait + read_faults(server_dir).slow_start_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _err(f"OMERO.server failed to start: {_last_line(master_out)}")
            return 1
        if _read_pid(pid_file) == proc.pid:
            _out("OMERO.server started")
            return 0
        time.sleep(_POLL_S)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    _err(f"Failed to startup some components after {wait:g} seconds")
    return 1


def admin_stop(server_dir: Path, wait: float) -> int:
    pid = running_pid(server_dir)
    if pid is None:
        _err("Server not running")
        return 0
    if read_faults(server_dir).refuse_stop:
        _err("OMERO.server did not stop (demo fault refuse_stop in var/demo-faults.json)")
        return 1
    _out("Waiting on shutdown. Use CTRL-C to exit")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_until(lambda: not _alive(pid, server_dir), wait):
        _out("OMERO.server stopped")
        return 0
    _err(f"Failed to shutdown some components after {wait:g} seconds")
    return 1


def admin_status(server_dir: Path, _wait: float) -> int:
    if running_pid(server_dir) is None:
        _out("Server not running")
        return 1
    _out("OMERO.server running")
    return 0


def admin_restart(server_dir: Path, wait: float) -> int:
    if admin_stop(server_dir, wait) != 0:
        _err("Failed to shutdown")
        return 1
    return admin_start(server_dir, wait)


ADMIN: dict[str, Callable[[Path, float], int]] = {
    "start": admin_start,
    "stop": admin_stop,
    "status": admin_status,
    "restart": admin_restart,
}


def _alive(pid: int, server_dir: Path) -> bool:
    try:
        return is_standin(psutil.Process(pid), server_dir)
    except psutil.Error:
        return False


def _wait_until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else f"see {path}"


# ------------------------------------------------------------------------- config


def config_get(server_dir: Path, argv: Sequence[str]) -> int:
    parser = _parser("omero config get")
    parser.add_argument("keys", nargs="*", metavar="KEY")
    secrets = parser.add_mutually_exclusive_group()
    secrets.add_argument("--hide-password", action="store_true")  # accepted, the default
    secrets.add_argument("--show-password", action="store_true")  # OMERO 5.6's option
    opts = parser.parse_args(argv)
    from omero_tui.core.config.commands import format_get
    from omero_tui.core.config.xml_file import ConfigError, new_config, read_config

    path = server_dir / "etc" / "grid" / "config.xml"
    try:
        doc = read_config(path) if path.exists() else new_config()
    except ConfigError as err:
        raise StandinError(str(err)) from None
    # Like omero-py's prefs.py: key=value lines hide passwords unless --show-password.
    hide = not opts.show_password
    for line in format_get(doc, doc.profile_for(os.environ), opts.keys, hide_password=hide):
        _out(line)
    return 0


def config_set(server_dir: Path, argv: Sequence[str]) -> int:
    parser = _parser("omero config set")
    parser.add_argument("key", metavar="KEY")
    parser.add_argument("value", nargs="?", metavar="VALUE")
    opts = parser.parse_args(argv)
    from omero_tui.core.config.commands import apply_set
    from omero_tui.core.config.xml_file import ConfigError

    path = server_dir / "etc" / "grid" / "config.xml"
    try:
        # Like OMERO: a held config.xml.lock (e.g. during `admin start`) fails at once.
        apply_set(path, opts.key, opts.value, os.environ, lock_timeout=0.0)
    except ConfigError as err:
        raise StandinError(str(err)) from None
    return 0


def config_drop(server_dir: Path, argv: Sequence[str]) -> int:
    parser = _parser("omero config drop")
    parser.add_argument("name", metavar="NAME")
    opts = parser.parse_args(argv)
    from omero_tui.core.config.omero_files import OmeroCommand

    return _run_commands(server_dir, [OmeroCommand(0, "", "drop", names=(opts.name,))])


def config_load(server_dir: Path, argv: Sequence[str]) -> int:
    parser = _parser("omero config load")
    parser.add_argument("-q", action="store_true")
    parser.add_argument("files", nargs="+", metavar="FILE")
    opts = parser.parse_args(argv)
    from omero_tui.core.config.omero_files import OmeroCommand

    return _run_commands(server_dir, [OmeroCommand(0, "", "load", names=tuple(opts.files))])


def load(server_dir: Path, argv: Sequence[str]) -> int:
    """``omero load [--glob] [-k] FILE...``: each line of each file as an ``omero``
    command; the stand-in knows the ``config set|drop|load`` lines a ``.omero`` file
    holds and refuses any other."""
    import glob

    parser = _parser("omero load")
    parser.add_argument("infile", nargs="*")
    parser.add_argument("-g", "--glob", action="store_true")
    parser.add_argument("-k", "--keep-going", action="store_true")
    opts = parser.parse_args(argv)
    from omero_tui.core.config.omero_files import parse_omero_text

    if opts.glob:
        files = sorted(p for pattern in opts.infile for p in glob.glob(pattern))
    else:
        files = list(opts.infile)
    for name in files:
        commands = parse_omero_text(Path(name).read_text(encoding="utf-8"))
        known = [c for c in commands if c.verb in ("set", "drop", "load") and not c.error]
        for other in [c for c in commands if c not in known]:
            _err(f"{UNSUPPORTED} in {name} line {other.line}: {other.text}")
            if not opts.keep_going:
                return 2
        status = _run_commands(server_dir, known)
        if status != 0:
            return status
    return 0


def _run_commands(server_dir: Path, commands: Sequence[object]) -> int:
    """Apply ``config`` commands to the profile in use, in one locked write."""
    from omero_tui.core.config.next_start import apply_commands
    from omero_tui.core.config.xml_file import ConfigError, new_config, read_config, write_config

    path = server_dir / "etc" / "grid" / "config.xml"
    try:
        doc = read_config(path) if path.exists() else new_config()
        profile = doc.profile_for(os.environ)
        before = doc.properties(profile)
        after = apply_commands(before, commands, profile=profile)  # type: ignore[arg-type]
        changes = {
            key: after.get(key)
            for key in sorted({*before, *after})
            if before.get(key) != after.get(key)
            and key not in ("omero.config.version", "omero.config.profile")
        }
        if changes:
            write_config(path, changes, env=os.environ, lock_timeout=0.0, expect=doc)
    except ConfigError as err:
        raise StandinError(str(err)) from None
    return 0
