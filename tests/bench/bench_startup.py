"""Start-up time of the console (not a test: run it by hand).

    .venv/bin/python -m tests.bench.bench_startup [--rounds 7]

Starts the installed ``omero-tui`` in a real pseudo-terminal (80x24) on a demo sandbox
whose last health check is on record, and measures, from the spawn:
- the first frame: the title bar is drawn;
- cached results: the Overview shows the last check on record ("last check on record").
Medians over the rounds are printed; the target for cached results is <= 0.6 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

from omero_tui.core.demo.sandbox import build_demo


def one_start(exe: Path, server_dir: Path, env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    child = pexpect.spawn(
        str(exe), ["--server-dir", str(server_dir)], dimensions=(24, 80), env=env,
        encoding="utf-8", timeout=20,
    )  # fmt: skip
    try:
        child.expect("omero-tui")
        first = time.perf_counter() - start
        child.expect("last check on record")
        cached = time.perf_counter() - start
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
    return first, cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "omero-tui"
    root = Path(tempfile.mkdtemp(prefix="omero-tui-bench-start-"))
    try:
        box = build_demo(root / "demo")
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CONFIG_HOME": str(root / "config"),
        }
        env.pop("NO_COLOR", None)
        # A check on record, as a cron job or an earlier session would have left it.
        subprocess.run(
            [str(exe), "check", "--cached", "--server-dir", str(box.server_dir)],
            env=env, stdout=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        one_start(exe, box.server_dir, env)  # warm the file cache
        firsts, cached = [], []
        for _ in range(args.rounds):
            first, shown = one_start(exe, box.server_dir, env)
            firsts.append(first)
            cached.append(shown)
        print(f"load average at the start: {os.getloadavg()[0]:.2f}")
        print(f"  first frame     median {statistics.median(firsts):.3f}s  "
              f"({' '.join(f'{t:.3f}' for t in firsts)})")  # fmt: skip
        print(f"  cached results  median {statistics.median(cached):.3f}s  "
              f"({' '.join(f'{t:.3f}' for t in cached)})  (target <= 0.6)")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
