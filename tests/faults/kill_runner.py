"""Engine runs for the kill harness: plain, counted, or SIGKILLed at a chosen instant.

"event" kills go through ``paused_cli`` (frozen before the J-th changing operation of a
step, then killed); "timer" kills run the plain CLI and kill it a delay after its
``--json`` stream announced the step. Either way the whole process group goes (the
engine, its verifier, an ``omero admin`` command in flight); the stand-in server lives
in a session of its own, as a real server would survive its console.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from omero_tui.core.demo.session import DemoSession
from tests.core.relocation.helpers import REPO, with_ram_accepted


@dataclass
class Kill:
    how: str  # "event" | "timer" | "none" (the reference run)
    aim: str  # the step aimed at ("start-of-run": counted from the launch)
    at: float  # event index, or seconds after the announcement
    landed: str = ""  # the step the journal shows the kill in
    paused_at: str = ""  # event trials: the operation it was frozen before
    happened: bool = False


class Runner:
    """Engine runs for one sandbox: argv, environment, logs kept in the trial dir."""

    def __init__(self, session: DemoSession, env: dict[str, str], logs: Path) -> None:
        self.session = session
        self.env = env
        self.logs = logs
        self.count = 0

    def _files(self, name: str) -> tuple[Path, Path]:
        self.count += 1
        return (
            self.logs / f"{self.count:02d}-{name}.out",
            self.logs / f"{self.count:02d}-{name}.err",
        )

    def cli_args(self, mode: list[str]) -> list[str]:
        mode = with_ram_accepted(mode)
        return ["--server-dir", str(self.session.sandbox.server_dir), "relocate", *mode]

    def run(self, mode: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        out, err = self._files("run")
        done = subprocess.run(
            [sys.executable, "-m", "omero_tui", *self.cli_args(mode)],
            capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL,
            timeout=timeout, cwd=REPO, check=False,
        )  # fmt: skip
        out.write_text(done.stdout)
        err.write_text(done.stderr)
        return done

    def count_events(self, mode: list[str]) -> tuple[dict[str, dict[str, float]], int]:
        """A reference run under the hook, never paused: operations and seconds per step."""
        marker = self.logs / "reference-counts.json"
        out, err = self._files("reference")
        with out.open("w") as stdout, err.open("w") as stderr:
            rc = subprocess.run(
                [sys.executable, "-m", "tests.faults.paused_cli", "--marker", str(marker),
                 "--", *self.cli_args(mode)],
                stdout=stdout, stderr=stderr, env=self.env, stdin=subprocess.DEVNULL,
                timeout=300, cwd=REPO, check=False,
            ).returncode  # fmt: skip
        lines = marker.read_text().splitlines()
        return (json.loads(lines[-1]) if lines else {}), rc

    def killed(self, mode: list[str], kill: Kill) -> None:
        """Run ``mode`` and SIGKILL it (and its children) as ``kill`` says."""
        out, err = self._files(f"{kill.how}-{kill.aim}")
        if kill.how == "event":
            marker = self.logs / f"{self.count:02d}-paused.json"
            argv = [
                *(sys.executable, "-m", "tests.faults.paused_cli", "--marker", str(marker)),
                *("--phase", kill.aim, "--index", str(int(kill.at)), "--"),
                *self.cli_args(mode),
            ]
            with out.open("w") as stdout, err.open("w") as stderr:
                proc = _spawn(argv, self.env, stdout, stderr)
                try:
                    if _wait_stopped(proc, 300):
                        kill.paused_at = marker.read_text().strip()
                        _kill_group(proc)
                        kill.happened = True
                finally:
                    _kill_group(proc)
            return
        with out.open("w") as stdout_log, err.open("w") as stderr:
            proc = _spawn([sys.executable, "-m", "omero_tui", *self.cli_args(mode)], self.env,
                          subprocess.PIPE, stderr)  # fmt: skip
            announced = threading.Event()
            reader = threading.Thread(
                target=_read_events, args=(proc, stdout_log, kill.aim, announced), daemon=True
            )
            reader.start()
            try:
                if kill.aim == "start-of-run" or _wait_event(proc, announced, 300):
                    deadline = time.monotonic() + kill.at
                    while time.monotonic() < deadline and proc.poll() is None:
                        time.sleep(0.002)
                    if proc.poll() is None:
                        _kill_group(proc)
                        kill.happened = True
            finally:
                _kill_group(proc)
                reader.join(10)


def _spawn(
    argv: list[str], env: dict[str, str], stdout: object, stderr: object
) -> subprocess.Popen:
    return subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,  # type: ignore[arg-type]
        cwd=REPO, start_new_session=True, text=True,
    )  # fmt: skip


def _wait_stopped(proc: subprocess.Popen, timeout: float) -> bool:
    """True once the process froze itself; False if it ended first."""
    deadline = time.monotonic() + timeout
    handle = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if handle.status() == psutil.STATUS_STOPPED:
                return True
        except psutil.NoSuchProcess:
            return False
        time.sleep(0.003)
    raise AssertionError("the paused run neither paused nor ended")


def _read_events(proc: subprocess.Popen, log: object, aim: str, announced: threading.Event) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)  # type: ignore[attr-defined]
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (event.get("event"), event.get("step"), event.get("state")) == ("step", aim, "started"):
            announced.set()


def _wait_event(proc: subprocess.Popen, announced: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not announced.wait(0.002):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
    return True


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the engine and everything in its session (the verifier, a running
    `omero admin` command); the stand-in server lives in a session of its own."""
    if proc.poll() is None or _group_alive(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False
