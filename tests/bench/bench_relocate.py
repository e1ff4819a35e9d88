"""Benchmark of the relocation copy against ``cp -a`` (not a test: run it by hand, as root).

    .venv/bin/python -m tests.bench.bench_relocate              # all three cases, full size
    .venv/bin/python -m tests.bench.bench_relocate --rounds 5   # more rounds
    .venv/bin/python -m tests.bench.bench_relocate --smoke      # tiny: does the script work?

Cases, each timed in the same run as its reference, in turns, ROUNDS times:

- large: 1 GiB in 64 files of 16 MiB, copied to another filesystem (a tmpfs mounted
  here), against ``cp -a SRC DST && sync``; target: at most 1.2 times.
- small: 50,000 files of 200 B to 8 KiB in 100 directories, against ``cp -a``;
  target: at most 2 times.
- same filesystem: the one rename, for both trees; target: under 1 s.

"Ours" is the engine's copy and verify steps as a relocation runs them: the scan of the
source, the directories, the copy with every batch synced, compared byte for byte by the
verifier process and recorded in a real journal (fsynced), the directory metadata, and
the final whole-tree comparison with a fresh scan. The source stays in the page cache
for both (the same for cp and for us); medians are printed with the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from omero_tui.core.relocation.copy_tree import copy_entries, finish_directories, make_directories
from omero_tui.core.relocation.journal import Journal
from omero_tui.core.relocation.move import rename_into_place
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.tree_scan import scan_tree
from omero_tui.core.relocation.verify_tree import compare_trees

BASE = Path("/tmp/omero-tui-bench-relocate")
MIB = 1 << 20


def make_large(root: Path, files: int = 64, size: int = 16 * MIB) -> Path:
    if (root / ".done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for n in range(files):
        (root / f"{n:03d}.tif").write_bytes(os.urandom(size))
    (root / ".done").write_text("")
    return root


def make_small(root: Path, files: int = 50_000, dirs: int = 100) -> Path:
    if (root / ".done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(1)
    per_dir = files // dirs
    for d in range(dirs):
        folder = root / f"Dir-{d:03d}"
        folder.mkdir(parents=True)
        for i in range(per_dir):
            (folder / str(d * 1000 + i)).write_bytes(rng.randbytes(rng.randint(200, 8000)))
    (root / ".done").write_text("")
    return root


def run_cp(source: Path, target: Path, *, sync: bool) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    if sync:
        subprocess.run(["sync"], check=True)
    return time.perf_counter() - start


def run_ours(source: Path, target: Path, state: Path) -> tuple[float, float]:
    """Seconds, and the highest progress rate seen (reports per second, per 1 s window)."""
    stamps: list[float] = []

    def progress(_p: Progress) -> None:
        stamps.append(time.monotonic())

    shutil.rmtree(state, ignore_errors=True)
    start = time.perf_counter()
    journal = Journal.create(state, "bench")
    target.mkdir()
    journal.attach_target(str(target))
    scan = scan_tree(str(source), progress)
    make_directories(scan, str(target))

    def record(batch: object) -> None:
        journal.append({"type": "batch", "upto": batch.upto})  # type: ignore[attr-defined]

    copy_entries(scan, str(target), on_batch=record, progress=progress)
    finish_directories(scan, str(target))
    fresh = scan_tree(str(source))
    ignore = [journal.target_path.name] if journal.target_path else []
    comparison = compare_trees(fresh, str(target), ignore=ignore)
    journal.detach_target()
    elapsed = time.perf_counter() - start
    if not comparison.identical:
        raise SystemExit(f"the copy does not match: {comparison.summary()}")
    rate = max((sum(1 for t in stamps if s <= t < s + 1) for s in stamps), default=0)
    return elapsed, rate


def clear(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)


def compare(name: str, source: Path, other_fs: Path, rounds: int, *, sync: bool) -> dict:
    cp_times, our_times, rates = [], [], []
    target = other_fs / "copy"
    for round_ in range(rounds):
        order = ("cp", "ours") if round_ % 2 == 0 else ("ours", "cp")
        for who in order:
            clear(target)
            subprocess.run(["sync"], check=True)  # nothing of the last run left to flush
            if who == "cp":
                cp_times.append(run_cp(source, target, sync=sync))
            else:
                elapsed, rate = run_ours(source, target, BASE / "state")
                our_times.append(elapsed)
                rates.append(rate)
    clear(target)
    cp_median, our_median = statistics.median(cp_times), statistics.median(our_times)
    return {
        "case": name,
        "reference": "cp -a && sync" if sync else "cp -a",
        "cp": cp_median,
        "ours": our_median,
        "ratio": our_median / cp_median,
        "progress_per_s": max(rates),
        "cp_all": cp_times,
        "ours_all": our_times,
    }


def same_filesystem(source: Path) -> float:
    moved = source.with_name(source.name + "-moved")
    start = time.perf_counter()
    rename_into_place(str(source), str(moved))
    elapsed = time.perf_counter() - start
    os.rename(moved, source)
    return elapsed


def mount_other_fs(size_mib: int) -> tuple[Path, bool]:
    where = BASE / "otherfs"
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        print("not root: no tmpfs can be mounted, so the copy goes to the same filesystem")
        return where, False
    options = f"size={size_mib}m"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    return where, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clean", action="store_true", help="delete the source trees after")
    parser.add_argument("--large-files", type=int, default=64, help="files of the large case")
    parser.add_argument("--large-mib", type=int, default=16, help="MiB per large file")
    parser.add_argument("--small-files", type=int, default=50_000)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and one round, only to see that the script works (no verdicts)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.large_files, args.large_mib, args.small_files = 1, 4, 1, 500
    # Trees are kept between runs (building them takes long), one per size.
    large = make_large(
        BASE / f"large-{args.large_files}x{args.large_mib}M", args.large_files, args.large_mib * MIB
    )
    small = make_small(BASE / f"small-{args.small_files}", args.small_files)
    large_mib = args.large_files * args.large_mib
    other_fs, mounted = mount_other_fs(max(256, 3 * large_mib))
    large_case = f"{large_mib} MiB in {args.large_mib} MiB files"
    small_case = f"{args.small_files:,} small files"
    try:
        results = [
            compare(large_case, large, other_fs, args.rounds, sync=True),
            compare(small_case, small, other_fs, args.rounds, sync=False),
        ]
    finally:
        if mounted:
            subprocess.run(["umount", str(other_fs)], check=False)
    renames = {name: same_filesystem(tree) for name, tree in (("large", large), ("small", small))}
    limits = {large_case: 1.2, small_case: 2.0}
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    if args.smoke:
        print("smoke size: the ratios below say nothing about the targets")
    for r in results:
        verdict = "meets" if r["ratio"] <= limits[r["case"]] else "MISSES"
        print(
            f"{r['case']:<24} {r['reference']:<14} {r['cp']:6.2f} s   ours {r['ours']:6.2f} s"
            f"   ratio {r['ratio']:.2f} (target <= {limits[r['case']]}: {verdict})"
            f"   progress <= {r['progress_per_s']}/s"
        )
        cp_all = " ".join(f"{t:.2f}" for t in r["cp_all"])
        ours_all = " ".join(f"{t:.2f}" for t in r["ours_all"])
        print(f"{'':<24} rounds: cp {cp_all} / ours {ours_all}")
    for name, seconds in renames.items():
        verdict = "meets" if seconds < 1 else "MISSES"
        print(f"same filesystem ({name} tree)   one rename: {seconds * 1000:.2f} ms ({verdict})")
    if args.clean:
        shutil.rmtree(BASE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
