"""The demo sandbox's background "server": holds what a running OMERO holds, does nothing.

Started by the stand-in ``bin/omero admin start`` as
``python -m omero_tui.core.demo.standin_server --server-dir DIR`` (so "processes from
the server dir" finds it). While it runs it holds, like OMERO.blitz and the Indexer:
a POSIX record lock (``fcntl``, as Java's ``FileChannel.lock`` takes) on
``.omero/repository/<db-uuid>/.lock`` in the data dir and in the managed dir,
``FullText/write.lock`` (Lucene's native lock), one open Pixels file and its open
Blitz-0.log. It writes ``var/master/master.pid`` once all of that is held (the
"ready" signal), exits cleanly on SIGTERM/SIGINT, and exits by itself when its server
dir disappears, so a deleted sandbox never leaves an orphan. POSIX only.

It only ever touches repositories inside its own sandbox, or the sandbox's own
repository moved to another disk (it carries the sandbox's identity): a demo must never
write lock or identity files into a real repository, whatever its config.xml says.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import select
import signal
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

import psutil

from omero_tui.core.config.ice_values import resolve, unescape
from omero_tui.core.demo.sandbox import is_demo_root, sandbox_root_of
from omero_tui.core.demo.server_content import (
    DB_UUID_FILE,
    FAULTS_FILE,
    LAST_DATA_DIR_FILE,
    log_line,
)
from omero_tui.core.layout.identity import encode_repo_uuid
from omero_tui.core.record import frozen

MODULE = "omero_tui.core.demo.standin_server"
PID_FILE = "var/master/master.pid"
POLL_S = 1.0  # how often an idle server checks that its sandbox still exists
_LOGGER = "ome.services.blitz.repo.LegacyRepositoryI"


class StandinError(Exception):
    """A refusal to start; ``str(err)`` is one line, OMERO-like where OMERO has one."""


@frozen
class Faults:
    """Fault injection for tests, from ``var/demo-faults.json``."""

    refuse_stop: bool = False  # `admin stop` leaves the server running and fails
    die_on_start: bool = False  # comes up, then dies leaving a stale pid file and .lock files
    slow_start_s: float = 0.0  # extra time before the server is ready


def read_faults(server_dir: Path) -> Faults:
    try:
        raw = json.loads((Path(server_dir) / FAULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Faults()
    if not isinstance(raw, dict):
        return Faults()
    return Faults(
        bool(raw.get("refuse_stop")),
        bool(raw.get("die_on_start")),
        float(raw.get("slow_start_s") or 0.0),
    )


def repository_dirs(server_dir: Path, env: Mapping[str, str]) -> tuple[Path, Path]:
    """(data dir, managed dir) from config.xml as OMERO reads them, checked like OMERO."""
    server_dir = Path(server_dir)
    config = server_dir / "etc" / "grid" / "config.xml"
    props: dict[str, str] = {}
    if config.exists():  # OMERO starts from an empty configuration when there is none
        # Imported here: `admin status`, which a console polls, needs none of this.
        from omero_tui.core.config.xml_file import ACTIVE, ConfigError, read_config

        try:
            doc = read_config(config)
        except ConfigError as err:
            raise StandinError(str(err)) from None
        props = doc.properties(ACTIVE)  # as IceGrid does: never OMERO_CONFIG's profile
    data = resolve(unescape(props.get("omero.data.dir") or "/OMERO"), props)
    context = {**props, "omero.data.dir": data}
    managed_raw = props.get("omero.managed.dir") or "${omero.data.dir}/ManagedRepository"
    managed = resolve(unescape(managed_raw), context)
    data_dir, managed_dir = Path(data), Path(managed)
    root = sandbox_root_of(server_dir) or server_dir.parent
    for what, path in (("omero.data.dir", data_dir), ("omero.managed.dir", managed_dir)):
        if not is_demo_root(root) or not (
            _inside(path, root) or _holds_own_identity(path, server_dir)
        ):
            raise StandinError(
                f"demo stand-in: {what} {path} is outside the demo sandbox "
                f"{root}; the stand-in only runs on its own sandbox"
            )
    if not data_dir.exists():
        raise StandinError(f"FATAL: OMERO directory does not exist: {data_dir}")
    if not data_dir.is_dir() or not os.access(data_dir, os.R_OK | os.X_OK):
        raise StandinError(f"FATAL: Cannot access {data_dir}, a required file/directory for OMERO")
    return data_dir, managed_dir


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _holds_own_identity(path: Path, server_dir: Path) -> bool:
    """A repository outside the sandbox that is this sandbox's, moved there (a practice
    relocation onto another disk): it holds the identity of the sandbox's own random
    "database", which no real repository has. Anything else stays refused."""
    try:
        db_uuid = (Path(server_dir) / DB_UUID_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if not db_uuid or "/" in db_uuid or db_uuid.startswith("."):
        return False
    return (Path(path) / ".omero" / "repository" / db_uuid / "repo_uuid").is_file()


def is_standin(proc: psutil.Process, server_dir: Path) -> bool:
    """True for a live (not zombie) stand-in server of this server dir."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    if MODULE not in cmdline or "--server-dir" not in cmdline:
        return False
    given = cmdline[cmdline.index("--server-dir") + 1 :][:1]
    return bool(given) and os.path.realpath(given[0]) == os.path.realpath(server_dir)


def running_pid(server_dir: Path) -> int | None:
    """The pid from master.pid when that process is our server; a stale file gives None."""
    try:
        pid = int((Path(server_dir) / PID_FILE).read_text().split()[0])
        return pid if is_standin(psutil.Process(pid), server_dir) else None
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


def standin_pids(server_dir: Path) -> list[int]:
    """Every live stand-in server of this server dir, pid file or not (for cleanups)."""
    return [p.pid for p in psutil.process_iter() if is_standin(p, server_dir)]


# ---------------------------------------------------------------------- the process


class _Signals:
    """SIGTERM/SIGINT wake a select() through a pipe: immediate, no work in handlers."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._read, write = os.pipe()
        for fd in (self._read, write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = signum

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout``; True when asked to stop."""
        if self.received is None:
            select.select([self._read], [], [], max(timeout, 0.0))
            with contextlib.suppress(BlockingIOError):
                os.read(self._read, 512)
        return self.received is not None


class _Server:
    def __init__(self, server_dir: Path) -> None:
        self.server_dir = server_dir
        self.log: IO[str] | None = None
        self.held: list[tuple[int, Path, bool]] = []  # fd, path, remove at shutdown
        self.open_files: list[IO[bytes]] = []

    def say(self, level: str, message: str, logger: str = _LOGGER) -> None:
        if self.log is None:
            if not self.server_dir.is_dir():
                return  # never recreate a deleted sandbox just to log into it
            log_dir = self.server_dir / "var" / "log"
            log_dir.mkdir(exist_ok=True)
            self.log = open(log_dir / "Blitz-0.log", "a", encoding="utf-8")  # noqa: SIM115
        self.log.write(log_line(datetime.now().astimezone(), level, logger, "main", message))
        self.log.flush()

    def lock(self, path: Path, *, remove: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StandinError(f"{path} is locked by another process: repository in use") from None
        self.held.append((fd, path, remove))

    def start(self, env: Mapping[str, str]) -> None:
        data_dir, managed_dir = repository_dirs(self.server_dir, env)
        self.say(
            "INFO",
            "OMERO version: 5.6.14-ice36 (omero-tui demo stand-in)",
            "ome.services.util.ServerVersionCheck",
        )
        last_file = self.server_dir / LAST_DATA_DIR_FILE
        # With the demo's database, the repository rows are updated as OMERO does; its
        # log lines then say so. Without one, the last data dir on record stands in.
        from omero_tui.core.demo.database import standin_updates_roots

        moved = standin_updates_roots(self.server_dir, list(dict.fromkeys((data_dir, managed_dir))))
        for line in moved:
            self.say("WARN", line)
        with contextlib.suppress(OSError):
            last = last_file.read_text(encoding="utf-8").strip()
            if last and last != str(data_dir) and not moved:
                self.say("WARN", f"Data directory moved: {last} updated to {data_dir}")
        last_file.write_text(f"{data_dir}\n", encoding="utf-8")
        db_uuid = (self.server_dir / DB_UUID_FILE).read_text(encoding="utf-8").strip()
        for repo_dir in dict.fromkeys((data_dir, managed_dir)):
            ident = repo_dir / ".omero" / "repository" / db_uuid
            if not (ident / "repo_uuid").exists():
                # What OMERO does when it finds no identity: register a new, empty repository.
                # This is why a move that skips hidden files loses the repository.
                ident.mkdir(parents=True, exist_ok=True)
                (ident / "repo_uuid").write_bytes(encode_repo_uuid(str(uuid.uuid4())))
                self.say("WARN", f"No repository found in {repo_dir}: registered a new one")
            # A .lock left by a crash is taken over and removed at shutdown like our own.
            self.lock(ident / ".lock", remove=True)
        self.lock(data_dir / "FullText" / "write.lock", remove=False)  # Lucene keeps the file
        pixels = sorted((data_dir / "Pixels").glob("[0-9]*"))
        for path in [p for p in pixels if p.is_file()][:1]:
            self.open_files.append(open(path, "rb"))  # noqa: SIM115 - held while running
        self.say("INFO", "OMERO.blitz now accepting connections.", "ome.services.blitz.Entry")
        _write_atomically(self.server_dir / PID_FILE, f"{os.getpid()}\n")

    def shutdown(self, why: str) -> None:
        for fd, path, remove in reversed(self.held):
            if remove:
                with contextlib.suppress(OSError):
                    path.unlink()  # before unlocking: nobody may lock a file we then delete
            with contextlib.suppress(OSError):
                fcntl.lockf(fd, fcntl.LOCK_UN)
            os.close(fd)
        self.held.clear()
        for handle in self.open_files:
            handle.close()
        pid_file = self.server_dir / PID_FILE
        with contextlib.suppress(OSError, ValueError):
            if int(pid_file.read_text().split()[0]) == os.getpid():
                pid_file.unlink()
        with contextlib.suppress(OSError):
            self.say("INFO", f"OMERO.blitz shutdown ({why})", "ome.services.blitz.Entry")
        if self.log is not None:
            self.log.close()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE, description=__doc__.splitlines()[0])
    parser.add_argument("--server-dir", required=True)
    server_dir = Path(parser.parse_args(argv).server_dir)
    signals = _Signals()
    faults = read_faults(server_dir)
    server = _Server(server_dir)
    why = "startup failed"
    try:
        if faults.slow_start_s and signals.wait(faults.slow_start_s):
            why = f"signal {signals.received} during startup"
            return 0
        server.start(os.environ)
        if faults.die_on_start:
            signals.wait(0.5)
            server.say("ERROR", "Exiting: demo fault die_on_start (var/demo-faults.json)")
            os._exit(1)  # like a crash: the kernel drops the locks, the files stay
        while not signals.wait(POLL_S):
            if not server_dir.is_dir():
                why = "server dir removed"
                return 0
        why = f"signal {signal.Signals(signals.received).name}"
        return 0
    except (StandinError, OSError) as err:
        with contextlib.suppress(OSError):
            server.say("ERROR", f"Startup failed: {err}")
        print(f"{MODULE}: {err}", file=sys.stderr)
        return 1
    finally:
        server.shutdown(why)


if __name__ == "__main__":
    sys.exit(main())
