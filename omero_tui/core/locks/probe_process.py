"""The console's side of the probe processes: start them, talk to them, kill them.

Each request gets one JSON line back within a timeout; a child that does not answer
in time is killed (SIGKILL) and reaped, one that ends by itself is reported with its
exit code and last line of stderr. Children never inherit the console's stdout or
stderr, run in ``/`` so they keep no repository directory busy, and are reused
across directories while they behave.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import time
from typing import Any

import omero_tui
from omero_tui.core.locks.probe_model import ProbeTimeouts


class ProbeHang(Exception):
    """A child did not answer within its timeout (it has been killed)."""


class ProbeLost(Exception):
    """A child ended on its own (crashed): the probe cannot say anything about locking."""


class ProbeChild:
    """One probe process: a JSON line out, a JSON line back, each within a timeout."""

    def __init__(self, command: list[str], role: str, step_s: float) -> None:
        self.role, self.step_s = role, step_s
        env = dict(os.environ)
        # The child must import this very omero_tui, installed or run from a source tree.
        root = os.path.dirname(os.path.dirname(os.path.abspath(omero_tui.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",  # never keep a repository directory busy (it would block umount)
            env=env,
            close_fds=True,
        )
        self._buffer = b""

    def wait_ready(self, timeout: float) -> None:
        self._read_line(timeout, "start")

    def request(self, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        self.send(message)
        return self.receive(self.step_s if timeout is None else timeout, message.get("op", "?"))

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as err:
            raise ProbeLost(f"the {self.role} probe process ended ({self._exit_text()})") from err

    def receive(self, timeout: float, what: str) -> dict[str, Any]:
        return self._read_line(timeout, what)

    def _read_line(self, timeout: float, what: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise ProbeHang(
                        f"the {self.role} process did not answer '{what}' within "
                        f"{timeout:g} s and was killed"
                    )
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ProbeLost(f"the {self.role} probe process ended ({self._exit_text()})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # Not our child's protocol (a wrong interpreter, a startup message): nothing
            # it says can be trusted, so it goes, and the probe says it could not run.
            self.kill()
            raise ProbeLost(f"the {self.role} probe process answered {line[:80]!r}, not JSON")
        return answer

    def _exit_text(self) -> str:
        self.kill(close_pipes=False)
        code = self.proc.returncode
        tail = ""
        # Read its stderr only once it has exited: a child stuck in the kernel still
        # holds the pipe open, and the read would never return.
        if self.proc.stderr is not None and code is not None:
            try:
                tail = self.proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                tail = f": {tail[0]}" if tail else ""
            except (OSError, ValueError):
                tail = ""
        self._close_pipes()
        return f"exit code {code}{tail}"

    def kill(self, *, close_pipes: bool = True) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        # A child stuck in the kernel (a dead NFS server) cannot die until the call
        # returns; SIGKILL is pending and it goes the moment it can.
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2.0)
        if close_pipes:
            self._close_pipes()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"op": "exit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class ProbePair:
    """The holder and the contender, started together and reused across directories."""

    def __init__(self, command: list[str], timeouts: ProbeTimeouts) -> None:
        self.command, self.timeouts = command, timeouts
        self.children: tuple[ProbeChild, ProbeChild] | None = None

    def start(self) -> tuple[ProbeChild, ProbeChild]:
        if self.children is not None and self._alive():
            for child in self.children:  # drop the last directory's file and locks
                child.request({"op": "close"})
            return self.children
        self.kill()
        holder = self._spawn("first")
        try:
            contender = self._spawn("second")
        except OSError:
            holder.kill()
            raise
        self.children = (holder, contender)
        try:
            for child in self.children:
                child.wait_ready(self.timeouts.start_s)
        except ProbeHang as hang:
            # A slow start says nothing about the repository (the children start in "/"
            # and touch nothing yet): the probe could not run, which is not a hang there.
            self.kill()
            raise ProbeLost(str(hang)) from hang
        return self.children

    def remove(self, paths: list[str]) -> tuple[str, ...]:
        """Remove probe files through a child (the filesystem may hang); returns what may remain."""
        own = self.children is not None and self._alive()
        remover: ProbeChild | None = None
        try:
            if own and self.children is not None:
                for child in self.children:
                    child.request({"op": "close"})  # locks go before the file does
                remover = self.children[0]
            else:
                self.kill()
                remover = self._spawn("clean-up")
                remover.wait_ready(self.timeouts.start_s)
            answer = remover.request({"op": "remove", "paths": paths})
            return tuple(answer.get("left", ())) if not answer["ok"] else ()
        except (ProbeHang, ProbeLost, OSError):
            self.kill()
            return tuple(paths)  # unknown: the admin is told where to look
        finally:
            if remover is not None and not own:
                remover.close()

    def _spawn(self, role: str) -> ProbeChild:
        return ProbeChild(self.command, role, self.timeouts.step_s)

    def _alive(self) -> bool:
        return self.children is not None and all(c.proc.poll() is None for c in self.children)

    def kill(self) -> None:
        if self.children is not None:
            for child in self.children:
                child.kill()
        self.children = None

    def close(self) -> None:
        if self.children is not None:
            for child in self.children:
                child.close()
        self.children = None
