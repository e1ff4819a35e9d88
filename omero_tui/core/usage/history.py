"""Every completed scan, one JSON line in the state dir: the trend and the growth rate.

One small line per scan, appended (O_APPEND), so two consoles scanning at once cannot
interleave within a line; a line that does not parse (a torn write) is skipped.

A cron check every 5 minutes adds 288 lines a day, but the growth rate wants the last
90 days. So history thins with age, when read and when the file is trimmed alike: a
repository's newest scans are kept as they are, older ones one per SPARSE_SECONDS
(the newest of each such span): 90 days then take 360 points, not 26,000.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.record import field, frozen
from omero_tui.core.usage.model import UsageScan

HISTORY_FILE = "usage-history.jsonl"
MAX_LINES = 10_000  # of all repositories, after thinning
TRIM_AT_BYTES = 1 << 20  # about 5,000 lines: every command reads the whole file
DENSE_LINES = 1000  # a repository's newest lines, kept in the file as they are
SPARSE_SECONDS = 6 * 3600  # older ones: the newest of each 6 hours (since the epoch)
_KEY = '{"repository":"'  # how append_history starts each line


@frozen
class VolumePoint:
    used_bytes: int
    total_bytes: int


@frozen
class HistoryPoint:
    at: float  # when the scan finished, epoch seconds
    quick: bool
    allocated_bytes: int
    apparent_bytes: int
    files: int
    units: Mapping[str, int] = field(default_factory=dict)  # allocated bytes per row
    volumes: Mapping[str, VolumePoint] = field(default_factory=dict)  # by mount point


def history_path(state_dir: Path) -> Path:
    return state_dir / HISTORY_FILE


def append_history(
    scan: UsageScan, volumes: Mapping[str, VolumePoint], state_dir: Path
) -> HistoryPoint:
    point = HistoryPoint(
        at=scan.finished_at,
        quick=scan.quick,
        allocated_bytes=scan.totals.allocated_bytes,
        apparent_bytes=scan.totals.apparent_bytes,
        files=scan.totals.files,
        units={u.name: u.totals.allocated_bytes for u in scan.units},
        volumes=dict(volumes),
    )
    line = {
        "repository": os.path.abspath(scan.data_dir),
        "at": point.at,
        "quick": point.quick,
        "allocated_bytes": point.allocated_bytes,
        "apparent_bytes": point.apparent_bytes,
        "files": point.files,
        "units": dict(point.units),
        "volumes": {m: [v.used_bytes, v.total_bytes] for m, v in point.volumes.items()},
    }
    path = history_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A line torn by a crash: end it, so this line is not glued to it and lost too.
            data = b"\n" + data
        os.write(fd, data)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > TRIM_AT_BYTES:
        _trim(path)
    return point


def read_history(state_dir: Path, data_dir: str, limit: int = 1000) -> list[HistoryPoint]:
    """Up to ``limit`` points of ``data_dir``, oldest first: its newest ``limit // 2``
    scans, then the newest of each SPARSE_SECONDS before them (see the module's text).

    Every command reads this, and a cron check adds a line every few minutes. So lines
    are sorted by the time each one starts with, and only those chosen are parsed
    whole (the same points as parsing every line and choosing then)."""
    repository = os.path.abspath(data_dir)
    try:
        with open(history_path(state_dir), encoding="utf-8", errors="replace") as handle:
            lines = handle.read().split("\n")
    except OSError:
        return []
    stamped = sorted(_stamped(lines, repository), key=lambda pair: pair[0])  # stable
    points: list[HistoryPoint] = []
    thinning = _Thinning(limit // 2)
    for at, text in reversed(stamped):
        if not thinning.wants(at):
            continue
        point = _point(text, repository)
        if point is None:
            continue
        thinning.took(at)
        points.append(point)
        if len(points) == limit:
            break
    points.reverse()
    return points


class _Thinning:
    """One repository's points, newest first: the first ``dense`` all taken, then the
    newest of each SPARSE_SECONDS (see the module's text)."""

    def __init__(self, dense: int) -> None:
        self.dense = dense
        self.taken = 0
        self.filled: float | None = None  # the last span a sparse point came from

    def wants(self, at: float) -> bool:
        return self.taken < self.dense or at // SPARSE_SECONDS != self.filled

    def took(self, at: float) -> None:
        if self.taken >= self.dense:
            self.filled = at // SPARSE_SECONDS
        self.taken += 1


def _stamped(lines: Iterable[str], repository: str) -> Iterable[tuple[float, str]]:
    """(its "at", the line) for each line that may be ``repository``'s. A line as
    append_history writes it is known by its start, without parsing it; any other is
    parsed to tell."""
    ours = '{"repository":' + json.dumps(repository) + ',"at":'
    start = len(ours)
    for text in lines:
        if text.startswith(ours):
            end = text.find(",", start)
            try:
                stamp = float(text[start:end]) if end > 0 else None
            except ValueError:
                stamp = None
            if stamp is not None:
                yield stamp, text
                continue
        elif text.startswith(_KEY):
            named = text[len(_KEY) : text.find('"', len(_KEY))]
            if named != repository and named.isascii() and "\\" not in named:
                continue  # another repository's line: its name needs no unescaping
        try:
            line = json.loads(text)
            if line.get("repository") == repository:
                yield float(line["at"]), text
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def unit_series(points: Iterable[HistoryPoint], name: str) -> list[int]:
    return [p.units[name] for p in points if name in p.units]


def _point(text: str, repository: str) -> HistoryPoint | None:
    """The line's point; None for a line of another repository or one that does not
    parse (a torn write)."""
    try:
        line = json.loads(text)
        if line.get("repository") != repository:
            return None
        return HistoryPoint(
            at=float(line["at"]),
            quick=bool(line.get("quick", False)),
            allocated_bytes=int(line["allocated_bytes"]),
            apparent_bytes=int(line.get("apparent_bytes", 0)),
            files=int(line.get("files", 0)),
            units={str(k): int(v) for k, v in line.get("units", {}).items()},
            volumes={
                str(m): VolumePoint(int(v[0]), int(v[1]))
                for m, v in line.get("volumes", {}).items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def _trim(path: Path) -> None:
    """Thin the file (temp file + rename, so a crash loses nothing): each repository
    keeps its newest DENSE_LINES lines and, before them, the newest line of each
    SPARSE_SECONDS; then the newest MAX_LINES of all. A line that does not parse goes.

    A line another console appends between the read and the rename is lost: one point
    of a trend, once per TRIM_AT_BYTES of history, which no lock across consoles is worth.
    """
    try:
        lines = path.read_bytes().splitlines(keepends=True)
        write_atomic(path, b"".join(thinned(lines)))
    except OSError:
        pass  # a history too long is no reason to fail a scan


def thinned(lines: list[bytes]) -> list[bytes]:
    """The lines _trim keeps, in the order they were in."""
    stamped = []
    for index, text in enumerate(lines):
        try:
            line = json.loads(text)
            stamped.append((float(line["at"]), index, str(line["repository"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    stamped.sort()
    kept: list[int] = []
    thinnings: dict[str, _Thinning] = {}
    for at, index, repository in reversed(stamped):
        thinning = thinnings.setdefault(repository, _Thinning(DENSE_LINES))
        if thinning.wants(at):
            thinning.took(at)
            kept.append(index)
    return [lines[i] for i in sorted(kept[:MAX_LINES])]
