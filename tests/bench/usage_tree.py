"""Generate a repository-shaped tree for the usage scanner benchmark.

``python -m tests.bench.usage_tree DIR --files 200000 --dirs 5000`` builds (or reuses,
when the marker says it is the same shape) a tree under DIR: the standard OMERO
subdirectories, two levels of ``Dir-xxx``-like directories below them, small files
with real data (one or two blocks each), a few sparse files, hard links and symlinks,
and modification times spread over two years so growth by month has something to show.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

TOPS = (  # (name, share of the directories and files)
    ("Pixels", 0.45),
    ("ManagedRepository", 0.35),
    ("Thumbnails", 0.1),
    ("Files", 0.07),
    ("FullText", 0.01),
    ("BioFormatsCache", 0.02),
)
MARKER = ".usage-bench-tree.json"
TWO_YEARS = 2 * 365 * 86400


def make_tree(root: Path, files: int, dirs: int, seed: int = 7) -> Path:
    """Build the tree unless one of this exact shape is already there; returns root."""
    shape = {"files": files, "dirs": dirs, "seed": seed, "format": 1}
    marker = root / MARKER
    try:
        if json.loads(marker.read_text()) == shape:
            return root
    except (OSError, ValueError):
        pass
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    leaves = _directories(root, dirs, rng)
    _files(leaves, files, rng)
    marker.write_text(json.dumps(shape))
    return root


def _directories(root: Path, dirs: int, rng: random.Random) -> list[Path]:
    """``dirs`` directories in all (root included): tops, middles, then leaves."""
    leaves: list[Path] = []
    budget = dirs - 1 - len(TOPS)
    for name, share in TOPS:
        top = root / name
        top.mkdir()
        count = max(2, round(budget * share))
        middles = max(1, int(count**0.5) // 2)
        per_middle = [count // middles + (1 if i < count % middles else 0) for i in range(middles)]
        for m, n in enumerate(per_middle):
            middle = top / f"Dir-{m:03d}"
            middle.mkdir()
            for leaf in range(n - 1):
                path = middle / f"Dir-{leaf:03d}"
                path.mkdir()
                leaves.append(path)
    # Rounding may leave us a few short or over: trim or pad in the last top.
    extra = dirs - 1 - sum(1 for _ in root.rglob("*"))
    pad = root / TOPS[-1][0] / "pad"
    if extra > 0:
        pad.mkdir()
        for i in range(extra - 1):
            (pad / f"p{i}").mkdir()
            leaves.append(pad / f"p{i}")
    rng.shuffle(leaves)
    return leaves


def _files(leaves: list[Path], files: int, rng: random.Random) -> None:
    now = time.time()
    payload = rng.randbytes(8192)
    made: list[Path] = []
    for i in range(files):
        # Skewed: a quarter of the directories hold most of the files, as in Pixels.
        leaf = leaves[int(len(leaves) * rng.random() ** 2)]
        path = leaf / f"{i}"
        size = rng.choice((0, rng.randrange(1, 4000), rng.randrange(4000, 8000)))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            if i % 5000 == 4999:
                os.ftruncate(fd, 10 << 20)  # sparse: apparent size far beyond allocation
                os.pwrite(fd, payload[:4096], 5 << 20)
            elif size:
                os.write(fd, payload[:size])
        finally:
            os.close(fd)
        stamp = now - TWO_YEARS * rng.random()
        os.utime(path, (stamp, stamp))
        if i % 1000 == 0:
            made.append(path)
    for n, path in enumerate(made):
        if n % 2:
            os.link(path, path.with_name(path.name + ".ln"))
        else:
            os.symlink(path.name, path.with_name(path.name + ".sym"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--dirs", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    make_tree(args.root, args.files, args.dirs, args.seed)
    print(f"{args.root}: ready in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()


# ------------------------------------------------------------ small trees for the tests

FIXED_MTIME = 1_780_000_000  # 2026-05-28, so growth by month has a known answer


def make_tricky_tree(root: Path, outside: Path | None = None) -> Path:
    """A small repository with every case du and find disagree on if one gets it wrong.

    Hard links (same directory, across directories, across subdirectories, and one to
    ``outside`` if given), symlinks to files, to directories and dangling, sparse and
    empty files, empty directories, a FIFO, a deep chain, a directory of mode 000.
    """
    rng = random.Random(3)

    def put(rel: str, size: int, mtime: float = FIXED_MTIME) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        os.utime(path, (mtime, mtime))
        return path

    put("Pixels/Dir-001/1001", 4000)
    put("Pixels/Dir-001/1002", 0)
    put("Pixels/Dir-001/1003_pyramid", 100_000, FIXED_MTIME - 40 * 86400)
    sparse = root / "Pixels/Dir-001/1004"
    with open(sparse, "wb") as out:
        out.truncate(5 << 20)
        out.seek(2 << 20)
        out.write(rng.randbytes(4096))
    put("Pixels/deep/a/b/c/d/e/leaf", 123)
    (root / "Pixels/empty").mkdir(parents=True)
    shared = put("Files/shared", 9000)
    os.link(shared, root / "Pixels/shared-too")  # across rows: once in the repository
    os.link(shared, root / "Files/shared-again")  # twice in one directory
    for i in range(30):
        put(f"Files/Dir-000/{i}", rng.randrange(0, 20_000))
    fileset = "ManagedRepository/user-3_3/2026-05/20/10-00-00.000"
    image = put(f"{fileset}/img.tif", 50_000)
    put(f"{fileset}.log", 700)
    later = root / "ManagedRepository/user-3_3/2026-05/21/11-00-00.000"
    later.mkdir(parents=True)
    os.link(image, later / "img.tif")  # an in-place import of the same file
    if outside is not None:
        outside.mkdir(parents=True, exist_ok=True)
        lone = put("ManagedRepository/user-2_2/2026-04/01/09-00-00.000/big.czi", 30_000)
        os.link(lone, outside / "original.czi")  # the admin's copy: a link outside
    (root / "Thumbnails").mkdir()
    os.symlink("../Files/shared", root / "Thumbnails/to-file")
    os.symlink("../Pixels", root / "Thumbnails/to-dir")
    os.symlink("nowhere", root / "Thumbnails/dangling")
    os.mkfifo(root / "Thumbnails/fifo")
    put("FullText/_0.cfs", 180_000)
    put("FullText/write.lock", 0)
    locked = root / "FullText/locked"
    put("FullText/locked/secret", 5000)
    locked.chmod(0o000)
    put(".omero/repository/db/repo_uuid", 36)
    put("README.txt", 300)
    for i in range(40):
        put(f"BioFormatsCache/x/y/.{i}.bfmemo", 1500)
    return root


def gnu_du(path: Path | str, *, apparent: bool = False, user: int | None = None) -> tuple[int, int]:
    """(bytes, error lines) from GNU du -s -x: allocated (-B1) or apparent (-b)."""
    args = ["du", "-s", "-x", "-b" if apparent else "-B1", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False, user=user)
    errors = [line for line in result.stderr.splitlines() if line.startswith("du:")]
    return int(result.stdout.split()[0]), len(errors)


def gnu_find_files(path: Path | str, user: int | None = None) -> int:
    """Regular files as find -xdev -type f counts them (one per path)."""
    result = subprocess.run(
        ["find", str(path), "-xdev", "-type", "f", "-print0"],
        capture_output=True,
        check=False,
        user=user,
    )
    return result.stdout.count(b"\0")
