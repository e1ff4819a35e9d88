"""The demo's binary repository: Pixels, Thumbnails, Files, FullText, ManagedRepository.

Sizes, names, users and import times come from the seed; a few sparse files make the
sizes interesting, a couple of hard links and a symlink stand for in-place imports,
and the data dir and managed dir each get their own ``.omero`` repository identity.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from omero_tui.core.demo.server_content import log_line
from omero_tui.core.demo.tree_writer import BIG, INSTALLED, LAST_IMPORT, LAST_START, TreeWriter
from omero_tui.core.layout.identity import encode_repo_uuid

if TYPE_CHECKING:
    from omero_tui.core.demo.model import DemoSandbox

USERS = (("root", 0, 1), ("user-2", 2, 5), ("user-3", 3, 5))  # name, id, weight
STEMS = (
    "HeLa_DAPI",
    "mouse_brain",
    "zebrafish_embryo",
    "kidney_tubules",
    "yeast_timelapse",
    "organoid",
    "retina_flatmount",
    "neurons_GFP",
    "tissue_microarray",
    "root_tip",
)


def numbered(n: int) -> Path:
    """OMERO's Dir-%03d scheme: 1234 -> Dir-001/1234, 1234567 -> Dir-001/Dir-234/1234567."""
    parts: list[str] = []
    rest = n
    while rest > 999:
        rest //= 1000
        parts.insert(0, f"Dir-{rest % 1000:03d}")
    return Path(*parts, str(n))


def write_repository(tree: TreeWriter, box: DemoSandbox, db_uuid: str, scale: int) -> None:
    data, r = box.data_dir, tree.rng
    pixel_ids = [*range(1, 300 * scale + 1), *([1234] if 300 * scale < 1234 else [])]
    pyramids = []
    for pid, when in zip(pixel_ids, tree.moments(len(pixel_ids)), strict=True):
        path = tree.blob(data / "Pixels" / numbered(pid), r.randint(256, 6144), when)
        if r.random() < 0.1:
            pyramids.append((path.with_name(f"{pid}_pyramid"), when + timedelta(minutes=3)))
    for i, (path, when) in enumerate(pyramids):
        big = len(pyramids) - i  # the two newest pyramids are the big whole-slide ones
        if big <= 2:
            tree.sparse(path, (24 if big == 1 else 40) * BIG, when, b"II*\x00")
        else:
            tree.blob(path, r.randint(16_000, 60_000), when, b"II*\x00")
    thumb_ids = [*range(1, 300 * scale + 1), *range(1001, 1001 + 40 * scale)]
    for tid, when in zip(thumb_ids, tree.moments(len(thumb_ids)), strict=True):
        tree.blob(
            data / "Thumbnails" / numbered(tid), r.randint(1500, 7000), when, b"\xff\xd8\xff\xe0"
        )
    for fid, when in enumerate(tree.moments(200 * scale), start=1):
        tree.blob(data / "Files" / numbered(fid), r.randint(200, 16_000), when)
    index = data / "FullText"
    for name, size in (("_0.cfs", 180_000), ("_0.cfe", 300), ("_0.si", 350), ("segments_7", 200)):
        tree.blob(index / name, size, LAST_START - timedelta(minutes=5))
    tree.write(index / "write.lock", b"", LAST_START)  # Lucene leaves it; the lock is what counts
    _managed(tree, box, scale)
    for repo_dir in (data, box.managed_dir):  # each has its own repository identity
        ident = repo_dir / ".omero" / "repository" / db_uuid / "repo_uuid"
        tree.write(ident, encode_repo_uuid(tree.uuid()), INSTALLED + timedelta(hours=1))


def _managed(tree: TreeWriter, box: DemoSandbox, scale: int) -> None:
    r, used = tree.rng, set()
    filesets: list[tuple[str, Path, list[Path]]] = []
    times = tree.moments(120 * scale)
    big_one = int(len(times) * 0.7)
    for n, when in enumerate(times):
        user, uid, _ = r.choices(USERS, weights=[u[2] for u in USERS])[0]
        while (user, when) in used:  # OMERO's %time% has ms; two imports never share one
            when += timedelta(milliseconds=1)
        used.add((user, when))
        name = f"{when:%H-%M-%S}.{when.microsecond // 1000:03d}"
        day = box.managed_dir / f"{user}_{uid}" / f"{when:%Y-%m}" / f"{when:%d}"
        files = _fileset(tree, day / name, when, big=n == big_one)
        tree.text(
            day / f"{name}.log", _import_log(when, user, n + 1, files), when + timedelta(seconds=40)
        )
        memo = box.data_dir / "BioFormatsCache" / str(files[0].parent).lstrip(os.sep)
        tree.blob(
            memo / f".{files[0].name}.bfmemo",
            r.randint(1000, 8000),
            when + timedelta(minutes=1),
            b"\xac\xed\x00\x05",
        )
        filesets.append((user, day / name, files))
    # In-place imports (--transfer=ln): one inode in two filesets, to be counted once.
    single = [fs for fs in filesets if fs[0] == "user-3" and len(fs[2]) == 1]
    own = [fs for fs in single if 0 < fs[2][0].stat().st_size < BIG]
    for (_, _, (source,)), (_, target_dir, _) in ((own[1], own[-1]), (own[2], own[-2])):
        _link(source, target_dir / source.name, hard=True)
    # An ln_s in-place import pointing inside the repository (relative, so it moves along).
    target = next(fs for fs in filesets if fs[0] == "user-2")[2][0]
    link = _link(target, filesets[-1][1] / f"linked_{target.name}", hard=False)
    tree.touch(link, LAST_IMPORT)


def _link(source: Path, link: Path, *, hard: bool) -> Path:
    if link.exists() or link.is_symlink():  # a same-named file already there (other seeds)
        link = link.with_name(f"inplace_{link.name}")
    if hard:
        os.link(source, link)
    else:
        link.symlink_to(os.path.relpath(source, link.parent))
    return link


def _fileset(tree: TreeWriter, where: Path, when: datetime, *, big: bool) -> list[Path]:
    r = tree.rng
    stem, kind = (
        r.choice(STEMS),
        "czi" if big else r.choice(("tif", "czi", "fake", "series", "mirax")),
    )
    names = {
        "tif": [f"{stem}.tif"],
        "czi": [f"{stem}.czi"],
        "fake": [f"{stem}&sizeZ=3&sizeC=2.fake"],
        "series": [f"{stem}_Z{z:02d}.ome.tif" for z in range(r.randint(3, 6))],
        "mirax": [
            f"{stem}.mrxs",
            f"{stem}/Slidedat.ini",
            f"{stem}/Data0000.dat",
            f"{stem}/Data0001.dat",
        ],
    }[kind]
    magic = {"tif": b"II*\x00", "czi": b"ZISRAWFILE", "series": b"II*\x00"}.get(kind, b"")
    written = when + timedelta(seconds=5)
    if big:
        return [tree.sparse(where / names[0], 32 * BIG, written, magic)]
    # .fake files are empty by design: Bio-Formats reads the image from the name.
    return [
        tree.blob(where / n, 0 if kind == "fake" else r.randint(2000, 12_000), written, magic)
        for n in names
    ]


def _import_log(when: datetime, user: str, fileset_id: int, files: list[Path]) -> str:
    req, thread = "ome.services.blitz.repo.ManagedImportRequestI", "2-thread-4"
    steps = [
        (req, f"Import of fileset {fileset_id} for {user}: {len(files)} file(s)"),
        ("loci.formats.ImageReader", f"Initializing {files[0].name}"),
        (req, "Metadata imported"),
        ("ome.services.ThumbnailBean", "Thumbnails created"),
        (req, f"Import of fileset {fileset_id} finished"),
    ]
    return "".join(
        log_line(when + timedelta(seconds=3 * i + 1), "INFO", logger, thread, text)
        for i, (logger, text) in enumerate(steps)
    )
