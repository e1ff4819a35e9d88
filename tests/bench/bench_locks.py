"""Benchmark of the Lock health checks: probe cost and latencies, lock-file search speed.

``python -m tests.bench.bench_locks [--runs 20] [--dir DIR] [--pixels 100000]``

Prints, for DIR (default: a temp dir) and /dev/shm when it exists:
- the wall time of one probe run per directory (two fresh child processes, both lock
  kinds, the write probe) and of each further directory (children reused);
- the lock latency and the hand-over latency (release in one process -> acquire in the
  other) per lock kind, median and maximum;
- how many progress reports a 30-directory run posts per second (the bound is ~10);
- the Pixels walk that looks for ``.pyr_lock`` files, in entries per second, and so how
  long the default budget of 200 000 entries takes;
- ``inspect_locks`` on a demo sandbox (no probe).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from omero_tui.core.demo.sandbox import build_demo
from omero_tui.core.discovery import discover
from omero_tui.core.locks import probe as lock_probe
from omero_tui.core.locks.declared_mounts import DeclaredMounts
from omero_tui.core.locks.files import DEFAULT_PYRAMID_BUDGET, find_lock_files
from omero_tui.core.locks.health import inspect_locks


def bench_probe(directory: str, runs: int) -> None:
    firsts, latencies = [], {k: {"lock": [], "handoff": []} for k in lock_probe.KINDS}
    for _ in range(runs):
        started = time.perf_counter()
        (result,) = lock_probe.run([directory])
        firsts.append(time.perf_counter() - started)
        assert result.passed, result
        for kind in result.kinds:
            latencies[kind.kind]["lock"].append(kind.lock_ms or 0.0)
            latencies[kind.kind]["handoff"].append(kind.handoff_ms or 0.0)
    many = [directory] * 10
    started = time.perf_counter()
    lock_probe.run(many)
    per_dir = (time.perf_counter() - started) / len(many)
    print(f"probe {directory}")
    print(
        f"  one directory, fresh children: median {statistics.median(firsts) * 1000:.0f} ms,"
        f" max {max(firsts) * 1000:.0f} ms ({runs} runs)"
    )
    print(f"  per directory, children reused: {per_dir * 1000:.1f} ms")
    for kind, values in latencies.items():
        for what, ms in values.items():
            print(
                f"  {kind:<5} {what:<7} median {statistics.median(ms):.3f} ms, max {max(ms):.3f} ms"
            )


def bench_progress(root: Path) -> None:
    dirs = []
    for index in range(30):
        (root / f"p{index}").mkdir()
        dirs.append(str(root / f"p{index}"))
    reports: list[float] = []
    started = time.perf_counter()
    lock_probe.run(dirs, lambda _p: reports.append(time.perf_counter()))
    elapsed = time.perf_counter() - started
    gaps = [b - a for a, b in zip(reports[:-2], reports[1:-1], strict=True)]  # the last is forced
    smallest = f"{min(gaps) * 1000:.0f} ms" if gaps else "n/a"
    print(
        f"progress: {len(reports)} reports in {elapsed:.2f} s for 30 directories; smallest gap"
        f" between throttled reports {smallest} (the bound is 100 ms; the final one always goes)"
    )


def bench_pixels_walk(root: Path, entries: int) -> None:
    pixels = root / "OMERO" / "Pixels"
    per_dir = 1000
    made = 0
    for top in range(entries // per_dir + 1):
        folder = pixels / f"Dir-{top:03d}"
        folder.mkdir(parents=True)
        for n in range(min(per_dir, entries - made)):
            (folder / str(top * per_dir + n)).touch()
            made += 1
    (pixels / "Dir-000" / ".7_pyramid.pyr_lock").touch()
    started = time.perf_counter()
    found, complete = find_lock_files(str(root / "OMERO"), str(root / "OMERO"))
    elapsed = time.perf_counter() - started
    rate = made / elapsed
    print(
        f"pyramid lock search: {made} entries in {elapsed * 1000:.0f} ms ({rate:,.0f}/s),"
        f" found {len(found)}, complete {complete}; the default budget of"
        f" {DEFAULT_PYRAMID_BUDGET:,} entries takes about {DEFAULT_PYRAMID_BUDGET / rate:.2f} s"
    )


def bench_inspect(root: Path, runs: int) -> None:
    box = build_demo(root / "demo")
    location = discover(server_dir_arg=str(box.server_dir), env={}, candidates=[])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        inspect_locks(location, declared=DeclaredMounts((), (), ()))
        times.append(time.perf_counter() - started)
    print(
        f"inspect_locks on the demo: median {statistics.median(times) * 1000:.0f} ms,"
        f" max {max(times) * 1000:.0f} ms ({runs} runs, psutil open-file pass included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dir", help="directory to probe (default: a temp dir)")
    parser.add_argument("--pixels", type=int, default=100_000, help="Pixels entries to walk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-locks-") as temp:
        root = Path(temp)
        bench_probe(args.dir or temp, args.runs)
        if os.path.isdir("/dev/shm"):
            bench_probe("/dev/shm", args.runs)
        bench_progress(root)
        bench_pixels_walk(root, args.pixels)
        bench_inspect(root, 10)


if __name__ == "__main__":
    main()
