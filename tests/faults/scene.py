"""One demo sandbox with the hostile repository, a state dir, and everything the fault
tests start (tmpfs and bind mounts, engines, lock holders) stopped at the end."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omero_tui.core.demo.sandbox import FAULTS_FILE, DemoSandbox
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.relocation.copy_tree import TESTONLY_BATCH_FILES_ENV, TESTONLY_PAUSE_ENV
from tests.core.relocation.helpers import REPO, mount_tmpfs, unmount, with_ram_accepted
from tests.faults.checks import Baseline, journal_records

Records = list[dict]


@dataclass
class Scene:
    session: DemoSession
    where: Path
    env: dict[str, str]
    mounts: list[Path] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def box(self) -> DemoSandbox:
        return self.session.sandbox

    @property
    def state(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "omero-tui"

    def baseline(self, target: Path, disk: Path) -> Baseline:
        return Baseline.take(self.box, target, disk, self.state, self.env)

    def tmpfs(self, path: Path, options: str = "size=256m") -> Path:
        mount_tmpfs(path, options)  # skips the test, with the reason, when not root
        self.mounts.append(path)
        return path

    def read_only_bind(self, path: Path) -> None:
        """``path`` read-only in place (root): even root gets EROFS there."""
        for argv in (
            ["mount", "--bind", str(path), str(path)],
            ["mount", "-o", "remount,bind,ro", str(path)],
        ):
            subprocess.run(argv, check=True, capture_output=True)
            if argv[1] == "--bind":
                self.mounts.append(path)

    def unmount(self, path: Path) -> None:
        unmount(path)
        self.mounts.remove(path)

    def faults(self, **flags: object) -> None:
        (self.box.server_dir / FAULTS_FILE).write_text(json.dumps(flags))

    def cli(
        self, *args: str, prefix: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``omero-tui --server-dir S relocate ARGS`` as a real process, output captured."""
        args = with_ram_accepted(args)
        return subprocess.run(
            [*prefix, sys.executable, "-m", "omero_tui", "--server-dir",
             str(self.box.server_dir), "relocate", *args],
            capture_output=True, text=True, env=env or self.env, stdin=subprocess.DEVNULL,
            timeout=180, cwd=REPO, check=False,
        )  # fmt: skip

    def spawn(self, argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """A background process, never on the runner's terminal, stopped at teardown."""
        proc = subprocess.Popen(
            list(argv), env=env or self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=REPO, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def slow_engine(
        self, *args: str, batch: int = 150, pause: float = 0.2, prefix: Sequence[str] = ()
    ) -> tuple[subprocess.Popen, Path, Path]:
        """``relocate ARGS`` with a pause after each recorded copy batch (a test hook), so a
        fault can be injected mid-copy; (process, stdout file, stderr file)."""
        out, err = (
            self.where / f"engine-{len(self.procs)}.out",
            self.where / f"engine-{len(self.procs)}.err",
        )
        env = {**self.env, TESTONLY_BATCH_FILES_ENV: str(batch), TESTONLY_PAUSE_ENV: str(pause)}
        args = with_ram_accepted(args)
        argv = [*prefix, sys.executable, "-m", "omero_tui", "--server-dir",
                str(self.box.server_dir), "relocate", *args]  # fmt: skip
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                cwd=REPO, start_new_session=True,
            )  # fmt: skip
        self.procs.append(proc)
        return proc, out, err

    def wait_journal(
        self, proc: subprocess.Popen, when: Callable[[Records], bool], timeout: float = 90
    ) -> Records:
        deadline = time.monotonic() + timeout
        while True:
            records = journal_records(self.state)
            if when(records):
                return records
            assert proc.poll() is None, "the engine ended before the point the test waits for"
            assert time.monotonic() < deadline, "the engine never reached the point"
            time.sleep(0.01)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        for path in reversed(self.mounts):
            unmount(path)  # lazily: the session then stops its server
        self.mounts.clear()
        self.session.close()


def batches(records: Records) -> int:
    return sum(1 for r in records if r.get("type") == "batch")


def one_line(stderr: str) -> str:
    """The single line of a refusal on stderr (asserts there is exactly one)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {stderr!r}"
    assert lines[0].startswith("omero-tui: "), lines[0]
    return lines[0]


def step_states(records: Records, step: str) -> list[str]:
    return [
        str(r.get("state")) for r in records if r.get("type") == "step" and r.get("step") == step
    ]
