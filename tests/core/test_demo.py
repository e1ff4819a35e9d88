"""The demo sandbox builder: deterministic, OMERO-shaped, and careful about where it builds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import read_config
from omero_tui.core.demo.sandbox import (
    MARKER,
    DemoError,
    DemoSandbox,
    build_demo,
    is_demo_root,
    numbered,
)
from omero_tui.core.discovery import discover
from omero_tui.core.layout.identity import decode_repo_uuid, read_identity

# One worker builds the shared sandbox once (xdist would otherwise build it per worker).
pytestmark = pytest.mark.xdist_group("demo-builder")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> DemoSandbox:
    """Read-only sandbox shared by the shape tests (a build costs ~1 s on slow disks)."""
    return build_demo(tmp_path_factory.mktemp("shared") / "demo")


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything that must not vary, with the root (in paths and contents) factored out."""
    token = str(root).lstrip(os.sep)
    out: dict[str, tuple] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            rel = str(path.relative_to(root))
            if rel.startswith("OMERO/BioFormatsCache/") and token not in rel:
                continue  # the mirror's copies of the root's own ancestors (root-dependent)
            st = path.lstat()
            size = 0
            if stat.S_ISLNK(st.st_mode):
                what: object = os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                what = "dir"
            else:
                data = path.read_bytes().replace(str(root).encode(), b"<ROOT>")
                if rel.endswith("config.xml"):  # the writer stamps the wall-clock time
                    data = re.sub(rb"<!--.*?-->", b"", data, flags=re.S)
                what, size = hashlib.sha256(data).hexdigest(), len(data)
            out[rel.replace(token, "<ROOT>")] = (what, size, st.st_mtime_ns)
    return out


def test_same_seed_same_tree(sandbox: DemoSandbox, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "other", seed=1)
    first, second = snapshot(sandbox.root), snapshot(again.root)
    assert first.keys() == second.keys()
    assert first == second
    assert len([v for v in first.values() if v[0] != "dir"]) > 1000


def test_other_seed_other_tree(sandbox: DemoSandbox, tmp_path: Path) -> None:
    (tmp_path / "seed2").mkdir()  # an existing empty dir is fine
    other = build_demo(tmp_path / "seed2", seed=2)
    assert is_demo_root(other.root) and other.root == tmp_path / "seed2"
    assert snapshot(other.root) != snapshot(sandbox.root)
    ids = [json.loads((b.root / MARKER).read_text())["db_uuid"] for b in (other, sandbox)]
    assert ids[0] != ids[1]


def test_layout_and_numbered_paths(sandbox: DemoSandbox) -> None:
    assert numbered(1234) == Path("Dir-001/1234")
    assert numbered(999123) == Path("Dir-999/999123")
    assert numbered(1234567) == Path("Dir-001/Dir-234/1234567")
    data = sandbox.data_dir
    for name in (
        "Pixels",
        "Files",
        "Thumbnails",
        "FullText",
        "ManagedRepository",
        "BioFormatsCache",
    ):
        assert (data / name).is_dir(), name
    assert (data / "Pixels" / "Dir-001" / "1234").is_file()
    assert (data / "Pixels" / "1").is_file() and list((data / "Pixels").glob("*_pyramid"))
    assert list((data / "Thumbnails" / "Dir-001").iterdir())
    lucene = {p.name for p in (data / "FullText").iterdir()}
    assert {"_0.cfs", "_0.cfe", "_0.si", "write.lock"} <= lucene
    assert any(n.startswith("segments_") for n in lucene)
    assert sandbox.managed_dir == data / "ManagedRepository"
    assert sandbox.second_volume.is_dir() and (sandbox.second_volume / "README.txt").is_file()
    assert "DEMO SANDBOX" in (sandbox.root / "README.txt").read_text()


def test_managed_repository_shapes(sandbox: DemoSandbox) -> None:
    managed = sandbox.managed_dir
    users = {p.name for p in managed.iterdir() if not p.name.startswith(".")}
    assert users == {"root_0", "user-2_2", "user-3_3"}
    # %user%_%userId%//%year%-%month%/%day%/%time%, with the import log next to the fileset
    filesets = [p for p in managed.glob("*/*/*/*") if p.is_dir()]
    assert len(filesets) >= 100
    for fileset in filesets:
        assert re.fullmatch(
            r"\d{4}-\d{2}/\d{2}/\d{2}-\d{2}-\d{2}\.\d{3}",
            str(fileset.relative_to(fileset.parents[2])),
        ), fileset
        assert fileset.with_name(fileset.name + ".log").is_file()
        memo_dir = sandbox.data_dir / "BioFormatsCache" / str(fileset).lstrip(os.sep)
        assert list(memo_dir.glob(".*.bfmemo")), f"no memo mirrored for {fileset}"
    log = next(managed.glob("user-2_2/*/*/*.log")).read_text()
    assert "ManagedImportRequestI" in log and log.startswith("20")
    months = {p.parent.parent.name for p in filesets}
    assert min(months) <= "2025-07" and max(months) >= "2026-10", "history spans 2025-06..2026-11"


def test_links_and_sizes(sandbox: DemoSandbox) -> None:
    files = [p for p in sandbox.data_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    linked = [p for p in files if p.stat().st_nlink > 1]
    assert len(linked) >= 4 and all(sandbox.managed_dir in p.parents for p in linked)
    links = [p for p in sandbox.data_dir.rglob("*") if p.is_symlink()]
    assert len(links) == 1
    assert not os.path.isabs(os.readlink(links[0])) and links[0].resolve().is_file()
    assert sandbox.data_dir in links[0].resolve().parents
    allocated = sum(p.lstat().st_blocks * 512 for p in sandbox.root.rglob("*"))
    apparent = sum(p.stat().st_size for p in files)
    assert allocated < 30 * 2**20
    assert apparent > 80 * 2**20, "a few sparse files make the sizes interesting"


def test_identities_decode(sandbox: DemoSandbox) -> None:
    data_id = read_identity(sandbox.data_dir, "data dir")
    managed_id = read_identity(sandbox.managed_dir, "managed dir")
    assert len(data_id.entries) == len(managed_id.entries) == 1
    (d,), (m,) = data_id.entries, managed_id.entries
    assert d.db_uuid == m.db_uuid and d.repo_uuid and m.repo_uuid
    assert d.repo_uuid != m.repo_uuid and not d.lock_files and not m.lock_files
    raw = (sandbox.data_dir / ".omero/repository" / d.db_uuid / "repo_uuid").read_bytes()
    assert raw[:2] == (36).to_bytes(2, "big") and decode_repo_uuid(raw) == d.repo_uuid


def test_config_and_server_dir(sandbox: DemoSandbox) -> None:
    doc = read_config(sandbox.config_path)
    assert doc.properties(doc.profile_for({})) == {
        "omero.config.version": "5.1.0",
        "omero.data.dir": str(sandbox.data_dir),
        "omero.db.name": "omero",
        "omero.db.user": "omero",
        "omero.db.host": "localhost",
    }
    location = discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=())
    assert location.data_dir.value == str(sandbox.data_dir) and location.config_error is None
    assert location.managed_dir.value == str(sandbox.managed_dir)
    logs = sandbox.server_dir / "var" / "log"
    for name in (
        "Blitz-0.log",
        "Indexer-0.log",
        "PixelData-0.log",
        "Tables-0.log",
        "Processor-0.log",
        "master.out",
    ):
        assert (logs / name).is_file(), name
    first = (logs / "Blitz-0.log").read_text().splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO  \[ *ome\.services\.util\.", first)
    assert "OMERO version: 5.6" in first
    assert (sandbox.server_dir / "etc/grid/templates.xml").is_file()
    assert (sandbox.server_dir / "etc/grid/default.xml").is_file()
    launcher = sandbox.omero_bin.read_text()
    assert sandbox.omero_bin.stat().st_mode & 0o777 == 0o755 and launcher.startswith("#!")
    assert not list((sandbox.server_dir / "var" / "master").iterdir()), "not running yet"


def test_existing_sandbox_is_returned_unchanged(sandbox: DemoSandbox) -> None:
    before = snapshot(sandbox.root)
    assert is_demo_root(sandbox.root)
    assert build_demo(sandbox.root, seed=99) == sandbox
    assert snapshot(sandbox.root) == before


@pytest.fixture
def occupied(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "occupied"
    root.mkdir()
    (root / "precious.txt").write_text("not ours")
    yield root
    assert (root / "precious.txt").read_text() == "not ours"


def test_refuses_foreign_non_empty_dir(occupied: Path) -> None:
    with pytest.raises(DemoError) as err:
        build_demo(occupied)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    assert sorted(p.name for p in occupied.iterdir()) == ["precious.txt"]


def test_refuses_file_and_bad_scale(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(DemoError):
        build_demo(tmp_path / "file")
    with pytest.raises(DemoError):
        build_demo(tmp_path / "new", scale=0)
    assert not (tmp_path / "new").exists()
