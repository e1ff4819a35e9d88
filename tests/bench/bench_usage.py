"""Benchmark of the usage scan against du, ncdu and gdu, whole commands (not a test).

    .venv/bin/python -m tests.bench.bench_usage             # everything, as in the README
    .venv/bin/python -m tests.bench.bench_usage --only local --rounds 3
    .venv/bin/python -m tests.bench.bench_usage --rss 1000000   # + peak memory at 1M files

Every figure is a whole process, start to exit, as an admin or a cron job meets it:
``omero-tui`` installed as an admin installs it (``pip install`` of this checkout into
a venv of the bench's own, BASE/venv, refreshed at every run; ``--editable`` measures
the checkout's dev venv instead, within a millisecond of it here),
``omero-tui usage --json`` (full, and ``--quick`` on local trees) beside ``du -s``,
``ncdu -o`` and ``gdu -n``, run in turns within each round; a ratio is taken against
``du -s`` of the same round, and the medians of those paired ratios are reported.

* **share**: a tree of 50k files in 2k directories behind a FUSE mirror that waits
  0, 0.2 or 1 ms per metadata call (tests/bench/latency_fs.py, like an NFS round
  trip); each command runs on a fresh mount, so none profits from the kernel's cache
  of the one before.
* **local**: 50k and 200k files on the local disk, warm cache.

Totals are checked on every run: omero-tui's on-disk bytes equal ``du -s -B1 -x`` of
the same round on the same tree, and its apparent bytes and files equal ``du -b -x``
and ``find -type f`` (measured once per tree: the mirror passes the backing tree's
inodes through unchanged, which the share's own ``du -B1`` of every round confirms).
The last line is the summary with the issue's goals.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from tests.bench.usage_tree import gnu_du, gnu_find_files, make_tree

BASE = Path("/tmp/omero-tui-bench")
REPO = Path(__file__).resolve().parents[2]
ROUNDS = 5
SHARE_ROUNDS = 3
DELAYS_MS = (0.0, 0.2, 1.0)
# The command as an admin installs it (``pip install``, not editable: the dev venv's
# setuptools finder is code no admin runs): a venv of the bench's own, the checkout
# installed into it afresh at every run (see deployed()).
# ``--editable`` measures this checkout's own venv instead.
DEPLOYED = BASE / "venv"
OMERO_TUI: list[str] = []


def environment() -> dict[str, str]:
    env = {**os.environ, "XDG_STATE_HOME": str(BASE / "state")}
    # As installed: byte-compiled modules are used (a dev shell may forbid writing them).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def deployed(editable: bool) -> list[str]:
    """The ``omero-tui`` command to measure; installs this checkout into DEPLOYED."""
    if editable:
        script = Path(sys.executable).parent / "omero-tui"
        return [str(script)] if script.exists() else [sys.executable, "-m", "omero_tui"]
    python = DEPLOYED / "bin/python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DEPLOYED)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(REPO)], check=True)
    else:  # the dependencies are there: only this checkout's code, afresh
        install = ["install", "-q", "--force-reinstall", "--no-deps", str(REPO)]
        subprocess.run([str(python), "-m", "pip", *install], check=True)
    return [str(DEPLOYED / "bin/omero-tui")]


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False
    )
    took = time.perf_counter() - start
    if result.returncode not in (0, 1, 2, 3):  # verdicts (3: a check could not run), not failures
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {' '.join(command)}")
    return took, result.stdout.decode("utf-8", "replace")


# The floor of any design that checks the other areas in a forked child: ``usage
# --quick`` with a child forked where ``check`` forks its own (after the server is
# found), one that does nothing but wait for the command to end. What it adds is the
# fork and the copy-on-write faults it costs the scanning process. "plain" runs the
# same wrapper without the fork, so that the two differ only in it.
_IDLE_CHILD = """
import os, sys
from omero_tui.commands import usage_cmd

found = usage_cmd.locate

def locate(*args, **kwargs):
    location = found(*args, **kwargs)
    reads, writes = os.pipe()  # writes closes when this command ends
    if os.fork() == 0:
        os.close(writes)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.read(reads, 1)
        os._exit(0)
    os.close(reads)
    return location

if sys.argv.pop(1) == "fork":
    usage_cmd.locate = locate
from omero_tui.cli import run
run()  # as the installed command does
"""


def python_of(command: list[str]) -> str:
    """The interpreter that runs ``command`` (the installed script's own)."""
    script = Path(command[0])
    return str(script.parent / "python") if script.name == "omero-tui" else command[0]


def tools(tree: str, quick: bool) -> dict[str, list[str]]:
    found = {
        "du": ["du", "-s", "-B1", "-x", tree],
        "ncdu": ["ncdu", "-x", "-q", "-o", "/dev/null", tree],
        "gdu": ["gdu", "-n", "-p", "-s", "-x", "-c", tree],
        "omero-tui": [*OMERO_TUI, "usage", "--json", "--data-dir", tree],
    }
    if quick:
        found["--quick"] = [*OMERO_TUI, "usage", "--json", "--quick", "--data-dir", tree]
        # The monitoring probe: every area, usage by a quick rescan.
        found["check -q"] = [*OMERO_TUI, "check", "--json", "--quick", "--data-dir", tree]
        # -P: the installed omero_tui, not the checkout in the bench's working directory
        idle = [python_of(OMERO_TUI), "-P", "-c", _IDLE_CHILD]
        quick_usage = ["usage", "--json", "--quick", "--data-dir", tree]
        found["-q plain"] = [*idle, "plain", *quick_usage]
        found["-q +fork"] = [*idle, "fork", *quick_usage]
    return found


class Case:
    """One tree and one way of reaching it: rounds of every tool, totals checked."""

    def __init__(self, name: str, backing: Path, quick: bool, expected: dict[str, int]) -> None:
        self.name, self.backing, self.quick, self.expected = name, backing, quick, expected
        self.times: dict[str, list[float]] = {}
        self.checked = 0

    def run(self, rounds: int, reach: Callable[[], AbstractContextManager[Path]]) -> None:
        env = environment()
        for number in range(rounds):
            du_total = None
            for tool in tools("", self.quick):
                with reach() as where:
                    took, out = timed(tools(str(where), self.quick)[tool], env)
                self.times.setdefault(tool, []).append(took)
                if tool == "du":
                    du_total = int(out.split()[0])
                elif tool in ("omero-tui", "--quick", "-q plain", "-q +fork"):
                    self._check(tool, out, du_total)
            shown = "  ".join(f"{t} {v[-1]:.2f}s" for t, v in self.times.items())
            print(f"  {self.name} round {number + 1}: {shown}", flush=True)

    def _check(self, tool: str, out: str, du_total: int | None) -> None:
        totals = json.loads(out)["repository"]
        found = (totals["allocated_bytes"], totals["apparent_bytes"], totals["files"])
        wanted = (du_total, self.expected["apparent"], self.expected["files"])
        if found != wanted:
            raise SystemExit(
                f"TOTALS DIFFER on {self.name} ({tool}): omero-tui {found}, "
                f"du -B1 / du -b / find {wanted}"
            )
        self.checked += 1

    def medians(self) -> dict[str, float]:
        return {tool: statistics.median(values) for tool, values in self.times.items()}

    def ratio(self, tool: str) -> float:
        """Median of the per-round ratios against du -s of the same round."""
        pairs = zip(self.times[tool], self.times["du"], strict=True)
        return statistics.median(mine / du for mine, du in pairs)

    def report(self) -> None:
        medians = self.medians()
        print(f"{self.name}: medians over {len(self.times['du'])} rounds")
        for tool, value in medians.items():
            ratio = "" if tool == "du" else f"   {self.ratio(tool):.2f} x du -s (paired)"
            print(f"    {tool:<10} {value:8.3f} s{ratio}")
        if "check -q" in medians:
            pairs = zip(self.times["check -q"], self.times["--quick"], strict=True)
            paid = statistics.median(check / usage for check, usage in pairs)
            print(f"    check --quick / usage --quick = {paid:.2f} (paired; check runs every area)")
            pairs = zip(self.times["-q +fork"], self.times["-q plain"], strict=True)
            floor = statistics.median(forked / plain for forked, plain in pairs)
            print(
                f"    usage --quick with an idle forked child / without = {floor:.2f} "
                "(paired; the fork's own cost, the floor of check --quick's design)"
            )
        print(f"    totals identical to du -B1 / du -b / find on {self.checked} runs")


def expected_of(tree: Path) -> dict[str, int]:
    return {
        "allocated": gnu_du(tree)[0],
        "apparent": gnu_du(tree, apparent=True)[0],
        "files": gnu_find_files(tree),
    }


def local_cases(rounds: int) -> list[Case]:
    cases = []
    for files, dirs in ((50_000, 2_000), (200_000, 10_000)):
        tree = make_tree(BASE / f"t{files}", files, dirs)
        subprocess.run(["du", "-s", str(tree)], capture_output=True, check=True)  # warm
        env = environment()
        subprocess.run([*OMERO_TUI, "usage", "--json", "--data-dir", str(tree)], env=env,
                       capture_output=True, check=False)  # fmt: skip
        case = Case(f"local {files // 1000}k", tree, True, expected_of(tree))
        case.run(rounds, lambda tree=tree: nullcontext(tree))
        cases.append(case)
    return cases


def share_cases(rounds: int, delays: tuple[float, ...], files: int = 50_000) -> list[Case]:
    from tests.bench.latency_fs import available, mounted

    reason = available()
    if reason:
        print(f"share: skipped, {reason}")
        return []
    tree = make_tree(BASE / f"t{files}", files, max(10, files // 25))
    expected = expected_of(tree)
    cases = []
    for delay in delays:
        size = f", {files // 1000}k" if files != 50_000 else ""
        case = Case(f"share {delay:g} ms{size}", tree, False, expected)
        case.run(rounds, lambda delay=delay: mounted(tree, BASE / "share", delay))
        cases.append(case)
    return cases


def in_process(files: int, dirs: int, rounds: int) -> dict[str, float]:
    """The scan alone, in this process (workers forked per scan, as in a headless command)."""
    from omero_tui.core.usage.pool import ScanPool
    from omero_tui.core.usage.quick import quick_rescan
    from omero_tui.core.usage.scan import scan_usage

    tree = make_tree(BASE / f"t{files}", files, dirs)
    times: dict[str, list[float]] = {"full": [], "quick": []}
    with ScanPool(inline=0) as pool:
        previous = scan_usage(str(tree), pool=pool)
        for _ in range(rounds):
            du = timed(["du", "-s", "-B1", "-x", str(tree)])[0]
            start = time.perf_counter()
            previous = scan_usage(str(tree), pool=pool, previous=previous)
            times["full"].append((time.perf_counter() - start) / du)
            start = time.perf_counter()
            quick_rescan(previous)
            times["quick"].append((time.perf_counter() - start) / du)
    found = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"in-process {files // 1000}k (scan only, the command around it left out): "
        f"full {found['full']:.2f} x du -s, quick {found['quick']:.2f} x du -s"
    )
    return found


_RSS_CHILD = """
import json, resource, sys, time
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
start = time.perf_counter()
with ScanPool(inline=0) as pool:
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


def memory(files: int) -> None:
    tree = make_tree(BASE / f"t{files}", files, max(5_000, files // 40))
    result = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(tree)],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    )
    found = json.loads(result.stdout)
    print(f"memory, {found['files']:,} files in {found['dirs']:,} dirs:")
    parent, worker = found["parent_kib"] / 1024, found["worker_kib"] / 1024
    per_million = parent * 1_000_000 / max(1, found["files"])
    print(
        f"    peak RSS of the scanning process {parent:.0f} MiB ({per_million:.0f} MiB per 1M "
        f"files; goal <= 53), largest worker {worker:.0f} MiB"
    )
    env = environment()
    for label, extra in (("full", []), ("--quick", ["--quick"])):
        cli = [*OMERO_TUI, "usage", "--json", *extra, "--data-dir", str(tree)]
        measured = subprocess.run(
            [sys.executable, "-c", _PEAK_OF, *cli], env=env, capture_output=True, text=True
        )
        print(f"    peak RSS, headless {label}: {int(measured.stdout.split()[-1]) / 1024:.0f} MiB")
    cache = sorted((BASE / "state/omero-tui/usage").glob("*.scan"), key=os.path.getmtime)[-1]
    print(f"    quick-rescan cache: {cache.stat().st_size / 1e6:.1f} MB for {found['dirs']:,} dirs")


def summary(cases: list[Case]) -> None:
    by_name = {case.name: case for case in cases}
    parts = []
    goals_met = True

    def goal(label: str, value: float, limit: float) -> None:
        nonlocal goals_met
        ok = value <= limit
        goals_met &= ok
        parts.append(f"{label} {value:.2f}x du (<= {limit}{'' if ok else ' NOT MET'})")

    share = by_name.get("share 1 ms")
    if share is not None:
        goal("share 1 ms 50k full", share.ratio("omero-tui"), 0.15)
        faster = share.medians()["omero-tui"] < share.medians()["gdu"]
        goals_met &= faster
        gdu = share.ratio("gdu")
        parts.append(f"gdu {gdu:.2f}x du ({'slower' if faster else 'FASTER'} than omero-tui)")
    if "local 200k" in by_name:
        goal("local 200k full", by_name["local 200k"].ratio("omero-tui"), 1.3)
        goal("--quick", by_name["local 200k"].ratio("--quick"), 0.25)
    if "local 50k" in by_name:
        goal("local 50k full", by_name["local 50k"].ratio("omero-tui"), 2.0)
    checked = sum(case.checked for case in cases)
    parts.append(f"totals identical to du/find on all {checked} runs")
    verdict = "all goals met" if goals_met else "NOT all goals met"
    print(f"SUMMARY ({verdict}): " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=("share", "local", "in-process"), default=None)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds on local trees")
    parser.add_argument("--share-rounds", type=int, default=SHARE_ROUNDS)
    parser.add_argument("--delays", type=float, nargs="+", default=list(DELAYS_MS))
    parser.add_argument("--share-files", type=int, default=50_000, help="files on the share")
    parser.add_argument("--rss", type=int, metavar="FILES", help="also measure memory at FILES")
    parser.add_argument(
        "--editable", action="store_true", help="measure this checkout's venv, not an install"
    )
    args = parser.parse_args()
    OMERO_TUI[:] = deployed(args.editable)
    print(f"measuring {OMERO_TUI[0]}", flush=True)
    # A kill ends the run through its finally clauses: no mirror left mounted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.chdir(REPO)  # python -m omero_tui and tests.bench resolve from the checkout
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (other work skews every figure)")
    cases: list[Case] = []
    if args.only in (None, "share"):
        cases += share_cases(args.share_rounds, tuple(args.delays), args.share_files)
    if args.only in (None, "local"):
        cases += local_cases(args.rounds)
    if args.only in (None, "in-process"):
        in_process(200_000, 10_000, args.rounds)
    for case in cases:
        case.report()
    if args.rss:
        memory(args.rss)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"(this process: peak RSS {peak} MiB)")
    if cases:
        summary(cases)


if __name__ == "__main__":
    main()
