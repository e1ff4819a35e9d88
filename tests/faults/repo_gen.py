"""A hostile repository for the fault tests: what real repositories hold that copies lose.

Added to a demo sandbox's data dir (so the stand-in server really runs on it and the
``.omero`` identity is the demo's own): thousands of files of mixed sizes, hard links
(two and three names, across directories), symlinks (relative, absolute, dangling, to a
directory), a sparse file with holes at both ends, unicode, space- and newline-holding
names, a name that is not UTF-8 at all, foreign owners (as root), odd modes, nanosecond
times and a deep path. Everything comes from the seed, so a failing trial is rebuilt
byte for byte from the seed it printed.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

GEN_DIR = "Files/faults-gen"
# Names an archive tool, a shell script or a careless "for f in $(ls)" gets wrong.
ODD_NAMES = (
    "name with spaces.ome.tiff",
    "  two leading spaces",
    "trailing space ",
    "Ünïcødé — 顕微鏡 画像.tif",
    "emoji 🔬 slide.czi",
    "new\nline.txt",
    "tab\there.txt",
    'quote\'s "and" `ticks`.txt',
    "$(not a command);.txt",
    "-rf",
    "*",
    "dots...",
    ".hidden",
    "ＯＭＥＲＯ fullwidth.txt",
    "кириллица.txt",
)
NOT_UTF8 = b"latin1-caf\xe9.dat"  # a name from an old Latin-1 system: no str can hold it


@dataclass(frozen=True)
class Generated:
    files: int
    hardlinks: int
    symlinks: int
    dirs: int
    data_bytes: int
    sparse: str  # rel path of the sparse file

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def _stamp(rng: random.Random) -> tuple[int, int]:
    """(atime_ns, mtime_ns): somewhere in 2015-2025, with a non-zero nanosecond part."""
    mtime = rng.randint(1_420_070_400, 1_735_689_600) * 10**9 + rng.randint(1, 10**9 - 1)
    return mtime + rng.randint(0, 10**12), mtime


def _size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.05:
        return 0
    if roll < 0.85:
        return rng.randint(1, 2048)
    if roll < 0.98:
        return rng.randint(4096, 65536)
    return rng.randint(256 << 10, 1 << 20)


def generate(data_dir: Path, *, seed: int, files: int = 2000, owners: bool = True) -> Generated:
    """Write the hostile tree below ``data_dir/GEN_DIR``; returns what it holds."""
    rng = random.Random(seed)
    top = data_dir / GEN_DIR
    dirs = [top / f"Dir-{i:03d}" for i in range(max(2, files // 150))]
    deep = top.joinpath(*[f"level-{i}" for i in range(12)])
    odd = top / "odd names"
    for directory in [*dirs, deep, odd, top / "empty dir"]:
        directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    data_bytes = 0
    for index in range(files):
        where = dirs[index % len(dirs)]
        size = _size(rng)
        path = where / f"{index:05d}.{rng.choice(('tif', 'dv', 'ome.tiff', 'czi', 'txt'))}"
        path.write_bytes(rng.randbytes(size))
        data_bytes += size
        written.append(path)
    for name in ODD_NAMES:
        path = odd / name
        path.write_bytes(name.encode() * rng.randint(1, 40))
        written.append(path)
    raw = os.fsencode(odd) + b"/" + NOT_UTF8
    with open(raw, "wb") as out:
        out.write(b"written on a Latin-1 system")
    written.append(Path(os.fsdecode(raw)))
    (deep / "deep.txt").write_bytes(b"twelve levels down")
    written.append(deep / "deep.txt")
    long_name = top / ("L" * 200 + ".tif")
    long_name.write_bytes(b"a 204-byte name")
    written.append(long_name)
    sparse = _sparse(top / "sparse pyramid.tif", rng)
    # Hard links: pairs across directories, and one file with three names.
    hardlinks = 0
    for first in rng.sample(written[:files], min(40, files // 20)):
        other = dirs[(dirs.index(first.parent) + 1) % len(dirs)] / f"hl-{first.name}"
        os.link(first, other)
        hardlinks += 1
    triple = written[0]
    for n in (2, 3):
        os.link(triple, odd / f"third name {n}")
        hardlinks += 1
    symlinks = _symlinks(top, dirs, written, data_dir)
    _metadata(top, rng, owners=owners)
    return Generated(
        files=len(written) + 1,
        hardlinks=hardlinks,
        symlinks=symlinks,
        dirs=len(dirs) + 15,
        data_bytes=data_bytes,
        sparse=str(sparse.relative_to(data_dir)),
    )


def _sparse(path: Path, rng: random.Random) -> Path:
    """64 MiB apparent, two small data extents with holes before, between and after."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.pwrite(fd, rng.randbytes(8192), 4 << 20)
        os.pwrite(fd, rng.randbytes(4096), 40 << 20)
        os.ftruncate(fd, 64 << 20)
    finally:
        os.close(fd)
    return path


def _symlinks(top: Path, dirs: list[Path], written: list[Path], data_dir: Path) -> int:
    links = {
        dirs[0] / "relative link": os.path.relpath(written[1], dirs[0]),
        dirs[0] / "absolute link": str(written[2]),  # points at the old place: kept as text
        dirs[0] / "dangling link": "no/such/file",
        dirs[1] / "link to a dir": "../Dir-000",
        top / "odd names" / "link with spaces →": "name with spaces.ome.tiff",
        top / "loop": "loop",  # a link to itself: a naive copy recurses or fails
    }
    for link, text in links.items():
        os.symlink(text, link)
    return len(links)


def _metadata(top: Path, rng: random.Random, *, owners: bool) -> None:
    """Modes, owners and times on everything, deepest first so a parent's time sticks."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                atime, mtime = _stamp(rng)
                os.utime(path, ns=(atime, mtime), follow_symlinks=False)
                continue
            os.chmod(path, rng.choice((0o600, 0o640, 0o644, 0o444, 0o755, 0o2750)))
            if owners and os.geteuid() == 0 and rng.random() < 0.2:
                os.chown(path, rng.choice((1234, 52000)), rng.choice((1234, 4321)))
            os.utime(path, ns=_stamp(rng))
        if owners and os.geteuid() == 0 and rng.random() < 0.2:
            os.chown(dirpath, 1234, 4321)
        os.chmod(dirpath, rng.choice((0o755, 0o750, 0o700, 0o2775)))
        os.utime(dirpath, ns=_stamp(rng))
