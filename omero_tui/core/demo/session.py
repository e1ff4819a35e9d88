"""A demo sandbox for the length of a ``with`` block: built, stand-in started, cleaned up.

``omero-tui --demo`` lives inside one of these. The stand-in server is a separate
process in its own session, so nothing stops it when the console dies; the session
therefore stops it on every way out: the ``with`` exit, ``atexit``, and SIGTERM/SIGHUP.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import psutil

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.demo.standin_server import standin_pids

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class DemoSession:
    """``with DemoSession() as s:`` gives ``s.sandbox`` with its stand-in running.

    With ``root=None`` the sandbox is built in a fresh temp dir (``omero-tui-demo-*``)
    that is removed on exit; a given root is kept (and reused if it is a sandbox).
    ``start_error`` holds the stand-in's complaint when it did not start: the console
    still opens, and shows a stopped server, as it would for a real one.
    """

    def __init__(
        self,
        root: Path | None = None,
        start_server: bool = True,
        *,
        seed: int = 1,
        scale: int = 1,
        database: bool = False,
    ) -> None:
        self._root = root
        self._start_server = start_server
        self._seed, self._scale = seed, scale
        self._made_dir: Path | None = None
        self._sandbox: DemoSandbox | None = None
        self._previous: dict[int, Any] = {}
        self._closed = False
        self._lock = threading.RLock()
        self.start_error: str | None = None
        self._want_database = database
        self.database = None  # a DemoDatabase once started

    @property
    def sandbox(self) -> DemoSandbox:
        if self._sandbox is None:
            raise RuntimeError("the demo session has not been entered")
        return self._sandbox

    @property
    def env(self) -> dict[str, str]:
        """What the stand-in CLI runs with. OMERO_CONFIG is dropped: one meant for the
        admin's real server names a profile the demo does not have."""
        env = {k: v for k, v in os.environ.items() if k != "OMERO_CONFIG"}
        env["OMERODIR"] = str(self.sandbox.server_dir)
        return env

    def __enter__(self) -> DemoSession:
        try:
            if self._root is None:
                self._made_dir = Path(tempfile.mkdtemp(prefix="omero-tui-demo-"))
            self._sandbox = build_demo(
                self._made_dir or Path(self._root), seed=self._seed, scale=self._scale
            )
            self._install_cleanup()
            if self._want_database:
                from omero_tui.core.demo.database import DemoDatabase

                self.database = DemoDatabase()
                self.database.start(self._sandbox)
            if self._start_server:
                self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def omero(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run the sandbox's ``bin/omero``; output captured, never the caller's terminal."""
        return subprocess.run(
            [str(self.sandbox.omero_bin), *args],
            capture_output=True,
            text=True,
            env=self.env,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )

    def start(self) -> bool:
        result = self.omero("admin", "start")
        lines = (result.stderr or result.stdout).strip().splitlines()
        self.start_error = (
            None
            if result.returncode == 0
            else (lines[-1] if lines else f"exit {result.returncode}")
        )
        return result.returncode == 0

    def stop(self) -> None:
        """``admin stop``, then SIGKILL for whatever stand-in of this sandbox survived it."""
        server_dir = self.sandbox.server_dir
        if self.sandbox.omero_bin.exists():  # gone with a deleted sandbox; the sweep remains
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.omero("admin", "stop", timeout=30.0)
        for pid in standin_pids(server_dir):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        deadline = time.monotonic() + 5.0
        while standin_pids(server_dir) and time.monotonic() < deadline:
            time.sleep(0.05)

    def keep(self) -> None:
        """Keep a temp sandbox when the session closes (its stand-in is still stopped):
        for one whose journal must outlive the session."""
        self._made_dir = None

    def close(self) -> None:
        """Stop the stand-in and remove a temp sandbox; safe to call any number of times."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._sandbox is not None:
                self.stop()
        finally:
            if self.database is not None:
                self.database.stop()
            if self._made_dir is not None:
                shutil.rmtree(self._made_dir, ignore_errors=True)
            self._remove_cleanup()

    # An interrupted `omero-tui --demo` must still stop its stand-in.
    def _install_cleanup(self) -> None:
        atexit.register(self.close)
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _remove_cleanup(self) -> None:
        atexit.unregister(self.close)
        if threading.current_thread() is threading.main_thread():
            for sig, previous in self._previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum) or signal.SIG_DFL
        self.close()  # restores the previous handlers
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)  # die as the signal would have had us die
