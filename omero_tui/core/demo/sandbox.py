"""The demo sandbox: a small, realistic OMERO.server install and repository in one dir.

It is a fixture of the product, clearly labelled on disk (``README.txt`` and the
``.omero-tui-demo`` marker): the console's real code runs against it exactly as
against a real server. Everything comes from the seed (names, uuids, contents, sizes,
mtimes), so two builds at the same root are identical, except the time stamp OMERO's
config writer puts in config.xml's comment. Paths that embed the root (config.xml
values, the BioFormatsCache mirror, the marker) differ between roots, as on servers.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import omero_tui
from omero_tui.core.repo_identity import encode_repo_uuid

MARKER = ".omero-tui-demo"
DEMO_FORMAT = 1
# Demo-only state of the stand-in server, in its var/ next to OMERO's own.
DB_UUID_FILE = "var/demo-db-uuid"  # the "database" the stand-in pretends to serve
LAST_DATA_DIR_FILE = "var/demo-last-data-dir"  # for the "Data directory moved" line
FAULTS_FILE = "var/demo-faults.json"

INSTALLED = datetime(2025, 5, 20, 9, 30, tzinfo=UTC)
FIRST_IMPORT = datetime(2025, 6, 2, tzinfo=UTC)
LAST_IMPORT = datetime(2026, 11, 22, tzinfo=UTC)  # imports end 2026-11-22 19:59
LAST_START = datetime(2026, 11, 20, 10, 15, 2, 123000, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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
BIG = 1 << 20  # MiB: the few sparse files that make the sizes interesting


class DemoError(ValueError):
    """A refusal to build; ``str(err)`` is one line."""


@dataclass(frozen=True)
class DemoSandbox:
    root: Path
    server_dir: Path
    data_dir: Path
    managed_dir: Path  # data_dir/ManagedRepository
    second_volume: Path  # an empty "other disk" to practise relocations on
    omero_bin: Path  # server_dir/bin/omero, the stand-in CLI
    config_path: Path

    @classmethod
    def at(cls, root: Path) -> DemoSandbox:
        """Paths as built; after a practice relocation config.xml says where things are."""
        server_dir, data_dir = root / "OMERO.server", root / "OMERO"
        return cls(
            root,
            server_dir,
            data_dir,
            data_dir / "ManagedRepository",
            root / "volume2",
            server_dir / "bin" / "omero",
            server_dir / "etc" / "grid" / "config.xml",
        )


def is_demo_root(root: Path) -> bool:
    try:
        marker = json.loads((Path(root) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("omero_tui_demo") == DEMO_FORMAT


def build_demo(root: Path, *, seed: int = 1, scale: int = 1) -> DemoSandbox:
    """Build a sandbox at ``root`` (absent or empty), or return the one already there."""
    if not isinstance(scale, int) or scale < 1:
        raise DemoError(f"scale must be a whole number of at least 1, not {scale!r}")
    root = Path(os.path.abspath(os.path.expanduser(root)))
    if root.is_symlink() or root.exists():
        if not root.is_dir():
            raise DemoError(f"{root} exists and is not a directory; choose another place")
        if is_demo_root(root):
            return DemoSandbox.at(root)
        if any(root.iterdir()):
            raise DemoError(
                f"{root} is not empty and is not an omero-tui demo sandbox; "
                "choose an empty or new directory"
            )
    box = DemoSandbox.at(root)
    tree = _Tree(random.Random(seed))
    db_uuid = tree.uuid()
    _repository(tree, box, db_uuid, scale)
    _server(tree, box, db_uuid)
    _labels(tree, box, seed, scale, db_uuid)
    tree.settle_directories(root)  # last: every write above changed some directory's mtime
    return box


def numbered(n: int) -> Path:
    """OMERO's Dir-%03d scheme: 1234 -> Dir-001/1234, 1234567 -> Dir-001/Dir-234/1234567."""
    parts: list[str] = []
    rest = n
    while rest > 999:
        rest //= 1000
        parts.insert(0, f"Dir-{rest % 1000:03d}")
    return Path(*parts, str(n))


def log_line(
    when: datetime, level: str, logger: str, thread: str, message: str, *, python: bool = False
) -> str:
    """One line as OMERO's Java (logback) or Python servers format it."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"
    where = f"({thread[:10]:<10})" if python else f"({thread[-10:]:>10})"
    return f"{stamp} {level:<5.5} [{logger[-40:]:>40}] {where} {message}\n"


# ------------------------------------------------------------------------ the writer


class _Tree:
    """Writes files with fixed contents and mtimes; remembers made dirs (speed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._dirs: set[Path] = set()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moments(self, count: int) -> list[datetime]:
        """Sorted times over the demo's history, denser lately (a growing facility)."""
        days = (LAST_IMPORT - FIRST_IMPORT).days
        r = self.rng
        return sorted(
            FIRST_IMPORT
            + timedelta(
                days=int(days * math.sqrt(r.random())),
                hours=r.randint(7, 19),
                minutes=r.randrange(60),
                seconds=r.randrange(60),
                milliseconds=r.randrange(1000),
            )
            for _ in range(count)
        )

    def write(self, path: Path, data: bytes, when: datetime) -> Path:
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        path.write_bytes(data)
        return self.touch(path, when)

    def text(self, path: Path, text: str, when: datetime) -> Path:
        return self.write(path, text.encode("utf-8"), when)

    def blob(self, path: Path, size: int, when: datetime, magic: bytes = b"") -> Path:
        return self.write(path, (magic + self.rng.randbytes(size))[:size], when)

    def sparse(self, path: Path, size: int, when: datetime, magic: bytes = b"") -> Path:
        """Real data at the start, middle and end, holes between: big but cheap."""
        self.write(path, b"", when)
        with open(path, "r+b") as out:
            for offset in (0, size // 2, size - BIG // 4):
                out.seek(offset)
                out.write((magic + self.rng.randbytes(BIG // 4))[: BIG // 4])
            out.truncate(size)
        return self.touch(path, when)

    @staticmethod
    def touch(path: Path, when: datetime) -> Path:
        ns = (when - _EPOCH) // timedelta(microseconds=1) * 1000
        os.utime(path, ns=(ns, ns), follow_symlinks=False)
        return path

    @staticmethod
    def settle_directories(root: Path) -> None:
        """Each directory gets the newest mtime found inside it, so they are fixed too."""
        for top, _, _ in os.walk(root, topdown=False):
            with os.scandir(top) as it:
                times = [e.stat(follow_symlinks=False).st_mtime_ns for e in it]
            ns = max(times, default=(INSTALLED - _EPOCH) // timedelta(microseconds=1) * 1000)
            os.utime(top, ns=(ns, ns))


# -------------------------------------------------------------------- the repository


def _repository(tree: _Tree, box: DemoSandbox, db_uuid: str, scale: int) -> None:
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


def _managed(tree: _Tree, box: DemoSandbox, scale: int) -> None:
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


def _fileset(tree: _Tree, where: Path, when: datetime, *, big: bool) -> list[Path]:
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


# ------------------------------------------------------------------------ the server


def _server(tree: _Tree, box: DemoSandbox, db_uuid: str) -> None:
    # Imported here: the stand-in `omero` imports this module for its constants and must
    # start fast for `admin status`, which a console polls.
    from omero_tui.core.config_xml import write_config

    grid = box.config_path.parent
    grid.mkdir(parents=True)
    # Through the product's own writer, exactly as OMERO would write it.
    write_config(
        box.config_path,
        {
            "omero.data.dir": str(box.data_dir),
            "omero.db.name": "omero",
            "omero.db.user": "omero",
            "omero.db.host": "localhost",
        },
        env={},
    )
    tree.touch(box.config_path, INSTALLED)
    for name in ("templates.xml", "default.xml"):
        tree.text(
            grid / name,
            f"<icegrid><!-- omero-tui demo: placeholder for {name} --></icegrid>\n",
            INSTALLED,
        )
    tree.text(
        box.server_dir / "lib" / "README.txt",
        "omero-tui demo sandbox: a real OMERO.server keeps its jars and Python code here.\n",
        INSTALLED,
    )
    var = box.server_dir / "var"
    for name, text in _server_logs().items():
        tree.text(var / "log" / name, text, LAST_START + timedelta(seconds=20))
    (var / "master").mkdir(parents=True)
    tree.text(box.server_dir / DB_UUID_FILE, db_uuid + "\n", INSTALLED)
    tree.text(box.server_dir / LAST_DATA_DIR_FILE, f"{box.data_dir}\n", LAST_START)
    tree.text(box.omero_bin, _launcher(), INSTALLED)
    box.omero_bin.chmod(0o755)


def _server_logs() -> dict[str, str]:
    """A healthy last start (2026-11-20), in each server's own log format."""
    t = LAST_START
    blitz = [
        ("ome.services.util.ServerVersionCheck", "OMERO version: 5.6.14-ice36 (omero-tui demo)"),
        ("ome.services.util.DBPatchCheck", "Current DB patch: OMERO5.4__0"),
        ("ome.services.blitz.repo.LegacyRepositoryI", "Repository registered: ManagedRepository"),
        ("ome.services.blitz.Entry", "OMERO.blitz now accepting connections."),
    ]
    java = {
        "Blitz-0.log": blitz,
        "Indexer-0.log": [
            ("ome.services.fulltext.FullTextIndexer", "Indexed 42 objects in 1 batch(es)")
        ],
        "PixelData-0.log": [
            ("ome.services.pixeldata.PixelDataThread", "Waiting for pixel data events")
        ],
    }
    python = {
        "Tables-0.log": [("omero.tables.TablesI", "Started Tables-0")],
        "Processor-0.log": [("omero.processor.ProcessorI", "Started Processor-0")],
    }
    logs = {
        name: "".join(
            log_line(t + timedelta(seconds=2 * i), "INFO", logger, "main", text)
            for i, (logger, text) in enumerate(lines)
        )
        for name, lines in java.items()
    }
    logs.update(
        {
            name: "".join(
                log_line(t + timedelta(seconds=9), "INFO", logger, "MainThread", text, python=True)
                for logger, text in lines
            )
            for name, lines in python.items()
        }
    )
    logs["master.out"] = "IceGrid node master: started (omero-tui demo stand-in)\n"
    return logs


def _launcher() -> str:
    python = sys.executable
    if len(python) < 120 and not any(c.isspace() for c in python):
        head = f"#!{python}\n"
    else:  # the kernel takes only a short shebang without spaces: let sh exec the interpreter
        head = f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n"
    source_root = str(Path(omero_tui.__file__).resolve().parent.parent)
    return head + _LAUNCHER_BODY.replace("SOURCE_ROOT", repr(source_root))


_LAUNCHER_BODY = '''\
"""omero-tui demo sandbox: a stand-in for OMERO's `omero` command. This is not OMERO."""
import os
import sys

try:
    from omero_tui.core.demo.standin_omero import main
except ImportError:  # an interpreter that sees omero-tui only from its source tree
    sys.path.insert(0, SOURCE_ROOT)
    from omero_tui.core.demo.standin_omero import main

# abspath, not realpath: the server dir keeps the spelling the console knows it by.
SERVER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.exit(main(server_dir=SERVER_DIR, argv=sys.argv[1:]))
'''


def _labels(tree: _Tree, box: DemoSandbox, seed: int, scale: int, db_uuid: str) -> None:
    tree.text(
        box.second_volume / "README.txt",
        'omero-tui demo sandbox: an empty "second volume" to practise relocating the\n'
        "repository onto. Nothing here is real data.\n",
        INSTALLED,
    )
    tree.text(
        box.root / "README.txt",
        "This is an omero-tui DEMO SANDBOX, not a real OMERO server.\n\n"
        "OMERO.server/  a stand-in server install (bin/omero is omero-tui's stand-in CLI)\n"
        "OMERO/         a small fake binary repository (omero.data.dir)\n"
        'volume2/       an empty "second volume" for relocation practice\n\n'
        "Everything here was generated by omero-tui and is safe to delete\n"
        "(stop the stand-in first: OMERO.server/bin/omero admin stop).\n",
        INSTALLED,
    )
    paths = ("server_dir", "data_dir", "managed_dir", "second_volume", "omero_bin")
    marker = {
        "omero_tui_demo": DEMO_FORMAT,
        "version": omero_tui.__version__,
        "seed": seed,
        "scale": scale,
        "db_uuid": db_uuid,
        "paths": {name: str(getattr(box, name)) for name in paths},
    }
    # Written last: a build that died half way has no marker, so it is never taken for one.
    tree.text(box.root / MARKER, json.dumps(marker, indent=2) + "\n", INSTALLED)
