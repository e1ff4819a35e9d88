"""A full scan that also writes ncdu's JSON export, so the result opens in ncdu or gdu.

ncdu's format (https://dev.yorhel.nl/ncdu/jsonfmt, version 1.2) lists every entry, so
this walk streams each listing straight to the file as it reads it and keeps no list
of files. It walks in this one process (the nesting of the file follows the walk)
with the very listing function of the scan, so its totals are the scan's. Followed
subdirectories (symlinks, mount points) and a managed dir kept elsewhere appear as
directories of the data dir, each with its own device number.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from omero_tui import __version__
from omero_tui.core.usage.assemble import WalkResult, add_days, assemble
from omero_tui.core.usage.model import ScanCancelled, UsageScan
from omero_tui.core.usage.plan import ScanPlan, plan_scan
from omero_tui.core.usage.scan import Progress, ProgressCallback
from omero_tui.core.usage.walk import (
    S_IFMT,
    S_IFREG,
    Emitter,
    Own,
    list_directory,
    own_of,
)

_CLOSE = None  # a stack marker: the directory whose array is open ends here


class _NcduWriter(Emitter):
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.pending: tuple[str, int | None, bool] | None = None  # name, dev, first
        self.skip: set[str] = set()  # data dir entries shown as followed directories
        self.at_top = False  # listing the data dir itself: the only place ``skip`` applies

    def open(self, name: str, dev: int | None, first: bool = False) -> None:
        self.pending = (name, dev, first)

    def directory(self, rel: str, own: Own, read_error: bool) -> None:
        assert self.pending is not None
        name, dev, first = self.pending
        self.pending = None
        info: dict[str, object] = {"name": name, "asize": own[3], "dsize": own[4] * 512}
        if dev is not None:
            info["dev"] = dev
        if read_error:
            info["read_error"] = True
        self.out.write(("" if first else ",\n") + "[" + _obj(info))

    def entry(self, name: str, st: os.stat_result) -> None:
        if self.at_top and name in self.skip:
            return
        info: dict[str, object] = {"name": name}
        if st.st_size:  # ncdu leaves out zero sizes
            info["asize"] = st.st_size
        if st.st_blocks:
            info["dsize"] = st.st_blocks * 512
        if st.st_nlink > 1:
            info.update(ino=st.st_ino, hlnkc=True, nlink=st.st_nlink)
        if st.st_mode & S_IFMT != S_IFREG:
            info["notreg"] = True
        self.out.write(",\n" + _obj(info))

    def other_fs(self, name: str, st: os.stat_result) -> None:
        if not (self.at_top and name in self.skip):
            self.out.write(",\n" + _obj({"name": name, "dev": st.st_dev, "excluded": "othfs"}))

    def unreadable(self, name: str) -> None:
        self.out.write(",\n" + _obj({"name": name, "read_error": True}))


def _obj(info: dict[str, object]) -> str:
    return json.dumps(info, ensure_ascii=False, separators=(",", ":"))


def export_scan(
    data_dir: str,
    target: Path,
    managed_dir: str | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> UsageScan:
    """Scan and write ``target`` (atomically: a cancelled export leaves no file behind)."""
    plan = plan_scan(data_dir, managed_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ncdu-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
            walk = _walk(plan, out, progress, cancel, clock)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return assemble(walk)


def _walk(
    plan: ScanPlan,
    out: TextIO,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    clock: Callable[[], float],
) -> WalkResult:
    started = clock()
    writer = _NcduWriter(out)
    records: list[dict[str, tuple]] = [{} for _ in plan.roots]
    links: list[list[tuple]] = [[] for _ in plan.roots]
    problems: list[tuple[str, str, str]] = []
    marks: list[tuple[int, str, str]] = []
    mounts: list[tuple[int, str]] = []
    days: dict[str, dict[int, int]] = {}
    counter = Progress(progress, None)
    meta = {"progname": "omero-tui", "progver": __version__, "timestamp": int(clock())}
    out.write(f"[1,2,{_obj(meta)},\n")
    # The data dir's array stays open until the followed trees are inside it.
    stack: list = [_CLOSE]
    # Each followed tree stands, by its row's name, where the data dir lists its link or
    # mount point (a row inside another's tree is exported inside that one).
    writer.skip = {u.name for u in plan.units if u.root != 0 and not u.rel}
    for index in range(len(plan.roots) - 1, 0, -1):
        stack.append((index, "", None, plan.roots[index].name))
    stack.append((0, "", None, plan.roots[0].path))
    while stack:
        item = stack.pop()
        if item is _CLOSE:
            out.write("]")
            continue
        if cancel is not None and cancel.is_set():
            raise ScanCancelled()
        index, rel, own, label = item
        root = plan.roots[index]
        if own is None:  # the top of a tree: measured here, named by its row
            try:
                own = own_of(os.lstat(root.path))
            except OSError as err:
                problems.append((root.path, root.path, err.strerror or str(err)))
                own = (0, 0, 0, 0, 0)
            writer.open(label, root.dev, first=index == 0)
        else:
            writer.open(rel.rpartition("/")[2], None)
        found_links: list = []
        found_mounts: list = []
        row: dict[int, int] = {}
        # Only the data dir's own entries may stand for a followed tree: a file deep
        # down that happens to share a row's name ("DropBox") is exported like any other.
        writer.at_top = index == 0 and not rel
        watch = plan.pixels_watch(index)
        record, subdirs, seen, found_marks = list_directory(
            root.path, rel, own, root.dev, found_links, problems, found_mounts, row, watch, writer
        )
        marks.extend((index, m_rel, name) for m_rel, name in found_marks)
        records[index][rel] = record
        links[index].extend(found_links)
        mounts.extend((index, m) for m in found_mounts)
        add_days(days, plan, index, {rel.partition("/")[0]: row})
        counter.add([record], seen)
        counter.report()
        if index != 0 or rel:
            stack.append(_CLOSE)
        stack.extend((index, sub_rel, sub_own, None) for sub_rel, sub_own in subdirs)
    out.write("]\n")
    counter.report(force=True)
    return WalkResult(
        plan=plan,
        records=records,
        links=links,
        problems=problems,
        mounts=mounts,
        days=days,
        entries=counter.entries,
        started_at=started,
        finished_at=clock(),
        pyramid_locks=tuple(sorted(marks)),
    )
