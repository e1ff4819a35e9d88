"""Benchmark of the permission deep check, fix and undo on a repository-shaped tree.

``python -m tests.bench.bench_perms [DIR] --files 100000 --dirs 2000`` (as root: the
fix changes owners). Builds (or reuses) a tree of empty files owned by root, then
times, for the user ``nobody``: the deep check, applying ``chown -R nobody DIR`` with
its undo record, and the undo; it checks that the undo restored every entry.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from omero_tui.core.discovery import discover
from omero_tui.core.perms.apply import apply_fix
from omero_tui.core.perms.check import check_permissions
from omero_tui.core.perms.deep import deep_check
from omero_tui.core.perms.fix import plan_fix
from omero_tui.core.perms.server_user import UserDecision, lookup_user
from omero_tui.core.perms.undo import undo_last

MARKER = ".perms-bench.json"


def make_tree(root: Path, files: int, dirs: int) -> Path:
    shape = {"files": files, "dirs": dirs, "format": 1}
    try:
        if json.loads((root / MARKER).read_text()) == shape:
            return root
    except (OSError, ValueError):
        pass
    shutil.rmtree(root, ignore_errors=True)
    tops = ("Pixels", "Files", "Thumbnails", "FullText", "ManagedRepository", "BioFormatsCache")
    leaves = []
    for n in range(dirs):
        leaf = root / tops[n % len(tops)] / f"Dir-{n // 100:03d}" / f"Dir-{n % 100:03d}"
        leaf.mkdir(parents=True, exist_ok=True)
        leaves.append(leaf)
    for n in range(files):
        fd = os.open(leaves[n % len(leaves)] / str(n), os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
    (root / MARKER).write_text(json.dumps(shape))
    return root


def states(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            path = os.path.normpath(os.path.join(directory, name))
            st = os.lstat(path)
            out[path] = (st.st_uid, st.st_gid, st.st_mode)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path("/tmp/otui-perms-bench"))
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dirs", type=int, default=2_000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the fix changes owners")
    root = make_tree(args.root, args.files, args.dirs)
    shutil.chown(root, "root", "root")
    user = lookup_user("nobody", "chosen", "benchmark")
    before = states(root)
    entries = len(before) - 1

    start = time.perf_counter()
    deep = deep_check([str(root)], user.identity)
    deep_s = time.perf_counter() - start
    assert deep.scanned == entries, (deep.scanned, entries)

    location = discover(data_dir_arg=str(root), env={}, candidates=[])
    report = check_permissions(location, UserDecision(user, ()), deep=deep)
    plan = plan_fix(report)
    state = Path(tempfile.mkdtemp(prefix="perms-bench-state-"))
    start = time.perf_counter()
    applied = apply_fix(plan, state_dir=state)
    apply_s = time.perf_counter() - start
    record = next((state / "perms-undo").glob("*.jsonl"))
    record_mb = record.stat().st_size / 1e6

    start = time.perf_counter()
    undone = undo_last(state)
    undo_s = time.perf_counter() - start
    restored = states(root) == before
    shutil.rmtree(state, ignore_errors=True)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tree: {entries} entries ({args.files} files, {args.dirs} dirs) at {root}")
    print(f"plan: {' ; '.join(plan.commands)}")
    print(
        f"deep check: {deep_s:.2f} s, {entries / deep_s:,.0f} entries/s, "
        f"{deep.problems_total} problems"
    )
    print(
        f"apply: {apply_s:.2f} s, {applied.changed / apply_s:,.0f} entries/s, "
        f"{applied.changed} changed, undo record {record_mb:.1f} MB"
    )
    print(f"undo: {undo_s:.2f} s, {undone.restored / undo_s:,.0f} entries/s, exact: {restored}")
    print(f"peak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
