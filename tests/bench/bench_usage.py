"""Benchmark of the usage scan against GNU du (not a test: run it by hand).

    .venv/bin/python -m tests.bench.bench_usage                 # speed, 200k files/5k dirs
    .venv/bin/python -m tests.bench.bench_usage --rss 1000000   # + peak memory at 1M files

Speed: du -s -B1 -x, the full scan and the quick rescan run in turns on the same warm
tree, ROUNDS times each; the medians and their ratios are printed. The scan runs on a
pool started once, as in the console; the headless command's wall time (a fresh
interpreter that starts its workers) is printed too. Memory: the scan of the big tree runs
in a fresh interpreter, which prints its own peak RSS and its workers' largest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.usage_tree import make_tree

BASE = Path("/tmp/omero-tui-bench")
ROUNDS = 7


def du(tree: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["du", "-s", "-B1", "-x", str(tree)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def speed(tree: Path, rounds: int) -> dict[str, float]:
    from omero_tui.core.usage.pool import ScanPool
    from omero_tui.core.usage.quick import quick_rescan
    from omero_tui.core.usage.scan import scan_usage

    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {"du": [], "full": [], "quick": [], "cli": []}
    env = {**os.environ, "XDG_STATE_HOME": str(BASE / "state")}
    cli = [sys.executable, "-m", "omero_tui", "usage", "--json", "--data-dir", str(tree)]
    with ScanPool() as pool:
        previous = None
        for _ in range(2):  # warm the caches (and the workers) before measuring
            du(tree)
            previous = scan_usage(str(tree), pool=pool, previous=previous)
        for _ in range(rounds):
            times["du"].append(du(tree))
            start = time.perf_counter()
            previous = scan_usage(str(tree), pool=pool, previous=previous)
            times["full"].append(time.perf_counter() - start)
            start = time.perf_counter()
            quick_rescan(previous)
            times["quick"].append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run(cli, env=env, check=False, stdout=subprocess.DEVNULL)
            times["cli"].append(time.perf_counter() - start)
        workers = pool.workers
    assert previous is not None
    totals = previous.totals
    print(f"tree {tree}: {totals.files:,} files, {totals.dirs:,} dirs, {workers} workers")
    print(f"load average at the start: {load:.2f} (other work on the machine skews every figure)")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"  {name:<6} median {medians[name]:.3f}s  ({shown})")
    print(f"  full scan / du -s    = {medians['full'] / medians['du']:.2f}  (target <= 1.3)")
    print(f"  quick rescan / du -s = {medians['quick'] / medians['du']:.2f}  (target <= 0.25)")
    print(
        "  headless command, end to end (fresh interpreter, starts its workers, saves the "
        f"cache) / du -s = {medians['cli'] / medians['du']:.2f}"
    )
    return medians


_RSS_CHILD = """
import json, resource, sys, time
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
start = time.perf_counter()
with ScanPool() as pool:
    scan = scan_usage(sys.argv[1], pool=pool)
elapsed = time.perf_counter() - start
print(json.dumps({
    "files": scan.totals.files, "dirs": scan.totals.dirs, "seconds": elapsed,
    "parent_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "worker_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


_PEAK_OF = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory(tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(tree)], capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout)
    du_seconds = du(tree)
    print(f"tree {tree}: {found['files']:,} files, {found['dirs']:,} dirs")
    print(f"  scan {found['seconds']:.2f}s (du -s {du_seconds:.2f}s)")
    parent, worker = found["parent_kib"] / 1024, found["worker_kib"] / 1024
    print(f"  peak RSS: scanning process {parent:.0f} MiB, largest worker {worker:.0f} MiB")
    state = BASE / "state-rss"
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    for label, extra in (("headless full", []), ("headless --quick", ["--quick"])):
        cli = [
            sys.executable,
            "-m",
            "omero_tui",
            "usage",
            "--json",
            *extra,
            "--data-dir",
            str(tree),
        ]
        measured = subprocess.run(
            [sys.executable, "-c", _PEAK_OF, *cli], env=env, capture_output=True, text=True
        )
        print(f"  peak RSS, {label} (scan, cache, history, report): "
              f"{int(measured.stdout.split()[-1]) / 1024:.0f} MiB")  # fmt: skip
    print("  (target <= 150 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--dirs", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--rss", type=int, metavar="FILES", help="also measure memory at FILES")
    args = parser.parse_args()
    tree = make_tree(BASE / f"t{args.files}", args.files, args.dirs)
    speed(tree, args.rounds)
    if args.rss:
        big = make_tree(BASE / f"t{args.rss}", args.rss, max(args.dirs, args.rss // 40))
        memory(big)
    print(
        f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB)"
    )


if __name__ == "__main__":
    main()
