"""One area's merge: database rows and disk entries, both in byte order, in one pass.

A row with no entry is missing; an entry with no row is an orphan; both present are
compared by size (and, when asked, by content hash). Row paths are only compared, never
opened: every file read comes from the disk walk, so a row naming ``../../etc`` or an
absolute path cannot make the console touch anything outside the repository.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from omero_tui.core.database.disk_walk import DiskEntry
from omero_tui.core.database.model import (
    MAX_EXAMPLES,
    MAX_OWNER_EXAMPLES,
    AreaTotals,
    DbProgress,
    DbReport,
    FileIssue,
    OwnerTally,
    Tally,
)
from omero_tui.core.record import field, mutable

VERIFIABLE = ("SHA1-160", "MD5-128", "File-Size-64")
PYRAMID = re.compile(rb"^(\d+)_pyramid$")
KEPT_SUFFIXES = (b".pyr_lock", b".tmp")  # Pixels: pyramid locks and half-written files
HASH_CHUNK = 1 << 20


class DbCancelled(Exception):
    """The check was cancelled; nothing it found so far is a verdict."""


class RowOrderError(Exception):
    """The rows did not arrive in byte order: merging would give wrong answers."""


def show(raw: bytes) -> str:
    """A path for people and JSON: UTF-8, with any other byte as a \\x escape."""
    return raw.decode("utf-8", "backslashreplace")


def unsafe_reason(key: bytes) -> str | None:
    """Why a row's path cannot name a file inside its repository, or None."""
    if not key.rstrip(b"/"):
        return "an empty path"
    if key.startswith(b"/"):
        return "an absolute path"
    if b"\x00" in key:
        return "a NUL byte"
    if b"\\" in key:
        return "a backslash"
    parts = key.rstrip(b"/").split(b"/")
    if any(p == b".." for p in parts):
        return "a '..' component"
    if any(p in (b"", b".") for p in parts):
        return "an empty or '.' component"
    return None


def file_digest(path: bytes, algorithm: str, size: int | None, tick: Callable[[int], None]) -> str:
    if algorithm == "File-Size-64":
        # Guava's HashCode.fromLong(size).toString(): the 8 bytes little-endian, in hex.
        return (size or 0).to_bytes(8, "little", signed=True).hex()
    digest = hashlib.sha1() if algorithm == "SHA1-160" else hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
            tick(len(chunk))
    return digest.hexdigest()


@mutable
class MergeContext:
    report: DbReport
    names: dict[tuple[str, int], str]
    verify_hash: bool
    rows_total: int
    hash_total_bytes: int
    progress: Callable[[DbProgress], None] | None
    cancel: threading.Event | None
    rows_done: int = 0
    entries_done: int = 0
    hashed_bytes: int = 0
    hash_started: float | None = None
    owners: dict[tuple[int, int], OwnerTally] = field(default_factory=dict)
    last_tell: float = 0.0
    phase: str = ""

    def owner_name(self, owner_id: int | None) -> str:
        if owner_id is None:
            return "(no owner)"
        return self.names.get(("e", owner_id), f"experimenter {owner_id}")

    def group_name(self, group_id: int | None) -> str:
        if group_id is None:
            return "(no group)"
        return self.names.get(("g", group_id), f"group {group_id}")

    def owner(self, owner_id: int, group_id: int) -> OwnerTally:
        key = (owner_id, group_id)
        if key not in self.owners:
            self.owners[key] = OwnerTally(self.owner_name(owner_id), self.group_name(group_id))
        return self.owners[key]

    def tell(self, force: bool = False) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise DbCancelled()
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last_tell < 0.1:
            return
        self.last_tell = now
        eta = None
        if self.hash_started is not None and self.hashed_bytes:
            rate = self.hashed_bytes / max(now - self.hash_started, 1e-6)
            eta = max(self.hash_total_bytes - self.hashed_bytes, 0) / rate
        self.progress(
            DbProgress(
                self.phase,
                self.rows_done,
                self.rows_total,
                self.entries_done,
                self.hashed_bytes,
                self.hash_total_bytes,
                eta,
            )
        )

    def hash_tick(self, n: int) -> None:
        if self.hash_started is None:
            self.hash_started = time.monotonic()
        self.hashed_bytes += n
        self.tell()


def _keep(bucket: list[FileIssue], issue: FileIssue) -> None:
    if len(bucket) < MAX_EXAMPLES:
        bucket.append(issue)


def merge_area(
    ctx: MergeContext,
    totals: AreaTotals,
    rows: Iterator[tuple[Any, ...]],
    entries: Iterator[DiskEntry],
    *,
    pyramids: list[tuple[int, DiskEntry]] | None = None,
    part: bool = False,
) -> None:
    """Compare one area (or, ``part``, one stretch of it: a directory that differs);
    ``pyramids`` (Pixels) collects ``<id>_pyramid`` files to look up."""
    if not part:
        ctx.phase = totals.area
    _merge(ctx, totals, rows, entries, pyramids)
    if not part:
        ctx.tell(force=True)


def _merge(
    ctx: MergeContext,
    totals: AreaTotals,
    rows: Iterator[tuple[Any, ...]],
    entries: Iterator[DiskEntry],
    pyramids: list[tuple[int, DiskEntry]] | None,
) -> None:
    report = ctx.report
    row = _next_row(ctx, totals, rows, None)
    entry = _next_entry(ctx, totals, entries, pyramids)
    while row is not None or entry is not None:
        if entry is None or (row is not None and row[0] < entry.key):
            _missing(ctx, totals, row)
            row = _next_row(ctx, totals, rows, row[0])
        elif row is None or row[0] > entry.key:
            if not entry.is_dir:
                _orphan(report, totals, entry)
            entry = _next_entry(ctx, totals, entries, pyramids)
        else:
            _matched(ctx, totals, row, entry)
            row = _next_row(ctx, totals, rows, row[0])
            entry = _next_entry(ctx, totals, entries, pyramids)


def _next_row(
    ctx: MergeContext, totals: AreaTotals, rows: Iterator[tuple[Any, ...]], previous: bytes | None
) -> tuple[Any, ...] | None:
    for row in rows:
        ctx.rows_done += 1
        totals.db_rows += 1
        key, row_id, size = row[0], row[1], row[2]
        totals.db_bytes += size or 0
        if ctx.rows_done % 1000 == 0:
            ctx.tell()
        if not isinstance(key, bytes):
            key = str(key).encode()
        reason = unsafe_reason(key)
        if reason is not None:
            _keep(
                ctx.report.unsafe_rows,
                FileIssue(
                    totals.area,
                    show(key),
                    "unsafe_path",
                    row_id,
                    ctx.owner_name(row[5]),
                    ctx.group_name(row[6]),
                    size,
                    detail=f"the row's path has {reason}; it was not used",
                ),
            )
            ctx.report.unsafe_count += 1
            continue
        if previous is not None and key <= previous:
            if key == previous:
                ctx.report.duplicate_rows += 1
                continue
            raise RowOrderError(
                f"rows of {totals.area} arrived out of byte order ({show(previous)!r} then "
                f"{show(key)!r}); the check stopped rather than guess"
            )
        try:
            key.decode("utf-8")
        except UnicodeDecodeError:
            ctx.report.non_utf8_rows.append(f"{totals.area}: row {row_id} {show(key)}")
        return (key, *row[1:])
    return None


def _next_entry(
    ctx: MergeContext,
    totals: AreaTotals,
    entries: Iterator[DiskEntry],
    pyramids: list[tuple[int, DiskEntry]] | None,
) -> DiskEntry | None:
    for entry in entries:
        ctx.entries_done += 1
        if ctx.entries_done % 1000 == 0:
            ctx.tell()
        if entry.is_dir:
            return entry
        totals.disk_files += 1
        totals.disk_bytes += entry.size or 0
        if pyramids is not None:
            name = entry.key.rsplit(b"/", 1)[-1]
            if name.endswith(KEPT_SUFFIXES):
                totals.kept_on_purpose.add(entry.size)
                continue
            found = PYRAMID.match(name)
            if found:
                pyramids.append((int(found.group(1)), entry))
                continue
        return entry
    return None


def _missing(
    ctx: MergeContext, totals: AreaTotals, row: tuple[Any, ...], unreadable: str | None = None
) -> None:
    """A row whose file is not there; ``unreadable`` says why a file that is there cannot
    be read (the server cannot read it either), which is no example of a lost file."""
    key, row_id, size, _hash, _hasher, owner_id, group_id, _mime = row
    totals.missing.add(size)
    tally = ctx.owner(owner_id, group_id)
    tally.missing.add(size)
    detail = unreadable if unreadable is not None else "folder" if key.endswith(b"/") else ""
    issue = FileIssue(
        totals.area, show(key), "missing", row_id, tally.owner, tally.group, size, detail=detail
    )
    if unreadable is None and len(tally.examples) < MAX_OWNER_EXAMPLES:
        tally.examples.append(f"{totals.area}/{issue.path}")
    _keep(ctx.report.missing, issue)


def _orphan(report: DbReport, totals: AreaTotals, entry: DiskEntry) -> None:
    totals.orphans.add(entry.size)
    where = totals.area
    if totals.area == "ManagedRepository" and b"/" in entry.key:
        where = f"ManagedRepository/{show(entry.key.split(b'/', 1)[0])}"
    report.orphans_by_dir.setdefault(where, Tally()).add(entry.size)
    _keep(report.orphans, FileIssue(totals.area, show(entry.key), "orphan", disk_size=entry.size))


def _matched(ctx: MergeContext, totals: AreaTotals, row: tuple[Any, ...], entry: DiskEntry) -> None:
    key, row_id, size, row_hash, hasher, owner_id, group_id, _mime = row
    if entry.is_dir:
        return
    if entry.size is None:  # a broken in-place link or an unreadable file
        _missing(ctx, totals, row, unreadable="present but cannot be read (broken link?)")
        return
    totals.matched.add(entry.size)
    if size is not None and size != entry.size:
        totals.size_differs.add(size)
        tally = ctx.owner(owner_id, group_id)
        tally.size_differs.add(size)
        if len(tally.examples) < MAX_OWNER_EXAMPLES:
            tally.examples.append(f"{totals.area}/{show(key)}")
        _keep(
            ctx.report.size_differs,
            FileIssue(
                totals.area,
                show(key),
                "size_differs",
                row_id,
                tally.owner,
                tally.group,
                size,
                entry.size,
            ),
        )
        return
    if ctx.verify_hash and row_hash:
        _verify(ctx, totals, row, entry)


def _verify(ctx: MergeContext, totals: AreaTotals, row: tuple[Any, ...], entry: DiskEntry) -> None:
    key, row_id, size, row_hash, hasher, owner_id, group_id, _mime = row
    algorithm = hasher.decode("utf-8", "replace") if isinstance(hasher, bytes) else hasher
    if algorithm not in VERIFIABLE:
        name = algorithm or "(no hasher recorded)"
        ctx.report.hash_unverifiable[name] = ctx.report.hash_unverifiable.get(name, 0) + 1
        return
    try:
        found = file_digest(entry.path, algorithm, entry.size, ctx.hash_tick)
    except OSError as err:
        ctx.report.hash_unverifiable[f"unreadable ({err.strerror})"] = (
            ctx.report.hash_unverifiable.get(f"unreadable ({err.strerror})", 0) + 1
        )
        return
    ctx.report.hash_checked.add(size)
    expected = row_hash.decode("ascii", "replace") if isinstance(row_hash, bytes) else row_hash
    if found != expected.strip().lower():
        ctx.report.hash_differs_total.add(size)
        tally = ctx.owner(owner_id, group_id)
        tally.hash_differs.add(size)
        _keep(
            ctx.report.hash_differs,
            FileIssue(
                totals.area,
                show(key),
                "hash_differs",
                row_id,
                tally.owner,
                tally.group,
                size,
                entry.size,
                detail=f"{algorithm}: recorded {expected}, found {found}",
            ),
        )
