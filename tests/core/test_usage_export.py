"""The ncdu export: a file ncdu and gdu read, with the scan's own totals; the file lister."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from omero_tui.core.usage.export import export_scan
from omero_tui.core.usage.files import largest_files
from omero_tui.core.usage.model import ScanCancelled
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.scan import scan_usage
from tests.bench.usage_tree import gnu_du, make_tricky_tree


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    return make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")


def ncdu_totals(directory: list) -> tuple[int, int]:
    """(dsize, asize) summed as ncdu does: a hard-linked inode once."""
    seen: set[int] = set()
    dsize = asize = 0
    stack = [directory]
    while stack:
        node = stack.pop()
        items = [node[0], *node[1:]] if isinstance(node, list) else [node]
        for item in items:
            if isinstance(item, list):
                stack.append(item)
                continue
            if item.get("excluded"):
                continue
            if item.get("hlnkc"):
                if item["ino"] in seen:
                    continue
                seen.add(item["ino"])
            dsize += item.get("dsize", 0)
            asize += item.get("asize", 0)
    return dsize, asize


def test_export_is_ncdu_json_with_the_scans_totals(tricky, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "out/usage.json"
    scan = export_scan(str(tricky), target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data[:2] == [1, 2] and data[2]["progname"] == "omero-tui"
    root = data[3]
    assert root[0]["name"] == str(tricky) and "dev" in root[0]
    dsize, asize = ncdu_totals(root)
    assert (dsize, asize) == (scan.totals.allocated_bytes, scan.totals.apparent_bytes)
    assert dsize == gnu_du(tricky)[0]
    assert scan.totals == scan_usage(str(tricky), pool=ScanPool(0)).totals
    names = {item[0]["name"] if isinstance(item, list) else item["name"] for item in root[1:]}
    assert {"Pixels", "Files", "ManagedRepository", "README.txt", ".omero"} <= names


def test_followed_subdirectory_is_a_directory_of_its_own_device(tricky, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "bigdisk/Thumbnails"
    target.parent.mkdir()
    (tricky / "Thumbnails").rename(target)
    (tricky / "Thumbnails").symlink_to(target)
    # Named like the followed row, but deep down: an ordinary file of the export.
    (tricky / "Files/Dir-000/Thumbnails").write_bytes(b"t" * 20_000)
    out = tmp_path / "usage.json"
    scan = export_scan(str(tricky), out)
    root = json.loads(out.read_text())[3]
    entries = [item for item in root[1:] if isinstance(item, list)]
    thumbs = [item for item in entries if item[0]["name"] == "Thumbnails"]
    assert len(thumbs) == 1 and "dev" in thumbs[0][0]
    assert {"to-file", "to-dir", "dangling", "fifo"} <= {i["name"] for i in thumbs[0][1:]}
    assert not [i for i in root[1:] if isinstance(i, dict) and i["name"] == "Thumbnails"]
    # The directory stands where the symlink was: only the link's own inode is not listed.
    link = (tricky / "Thumbnails").lstat()
    assert ncdu_totals(root) == (
        scan.totals.allocated_bytes - link.st_blocks * 512,
        scan.totals.apparent_bytes - link.st_size,
    )


def test_export_has_the_same_entries_as_ncdus_own(tricky, tmp_path) -> None:  # noqa: ANN001
    if shutil.which("ncdu") is None:
        pytest.skip("ncdu is not installed")
    ours, theirs = tmp_path / "ours.json", tmp_path / "theirs.json"
    export_scan(str(tricky), ours)
    subprocess.run(["ncdu", "-x", "-o", str(theirs), str(tricky)], check=True, capture_output=True)

    def flatten(node: list, prefix: str = "") -> dict[str, dict]:
        info = node[0]
        path = prefix + "/" + info["name"] if prefix else "."
        found = {path: {k: v for k, v in info.items() if k not in ("name", "dev")}}
        for item in node[1:]:
            if isinstance(item, list):
                found.update(flatten(item, path))
            else:
                found[path + "/" + item["name"]] = {k: v for k, v in item.items() if k != "name"}
        return found

    mine = flatten(json.loads(ours.read_text())[3])
    reference = flatten(json.loads(theirs.read_text())[3])
    assert mine == reference


def test_gdu_reads_the_export(tricky, tmp_path) -> None:  # noqa: ANN001
    if shutil.which("gdu") is None:
        pytest.skip("gdu is not installed")
    target = tmp_path / "usage.json"
    scan = export_scan(str(tricky), target)
    result = subprocess.run(
        ["gdu", "-n", "-p", "-s", "--no-prefix", "-f", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(result.stdout.split()[0]) == scan.totals.allocated_bytes


def test_cancelled_export_leaves_no_file(tricky, tmp_path) -> None:  # noqa: ANN001
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ScanCancelled):
        export_scan(str(tricky), tmp_path / "usage.json", cancel=cancel)
    assert list(tmp_path.glob("*.json")) == [] and list(tmp_path.glob(".ncdu-*")) == []


def test_largest_files_keeps_only_the_largest(tmp_path) -> None:  # noqa: ANN001
    for i in range(20):
        (tmp_path / f"f{i:02d}").write_bytes(b"x" * (i * 5000))
    (tmp_path / "sub").mkdir()
    listing = largest_files(str(tmp_path), limit=5)
    assert [f.name for f in listing.files] == ["f19", "f18", "f17", "f16", "f15"]
    assert listing.more_files == 15
    total = sum((tmp_path / f"f{i:02d}").stat().st_blocks * 512 for i in range(15))
    assert listing.more_allocated_bytes == total
    assert largest_files(str(tmp_path / "missing")).error
