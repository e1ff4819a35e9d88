"""The last scan of each repository, kept in the state dir for a quick rescan and a fast start.

Stored with ``marshal``, which writes and reads several times faster than JSON or
pickle. The directory records are columns (table.py), kept after the marshalled
part as raw arrays that a load uses in place: it takes a millisecond or two however
many directories there are. The file ends with the token it starts with, so one cut
short anywhere does not load. ``marshal`` is not meant for data from others, so the
file lives in the admin's own state dir, is written 0600, and any file that does not
load cleanly (another Python, a torn write, a stranger's file) is ignored: the next
scan is simply a full one.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.record import frozen

try:  # the interpreter's own SHA-256: loading OpenSSL (hashlib) costs more than the hash
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - other versions and builds
    try:
        from _sha2 import sha256  # type: ignore[no-redef]  # Python 3.12+
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef,assignment]
from omero_tui.core.usage.assemble import WalkResult, assemble
from omero_tui.core.usage.model import ScanRoot, UsageScan
from omero_tui.core.usage.plan import ScanPlan, UnitSpec
from omero_tui.core.usage.table import Blobs, RecordTable

# 3: records as columns, their subtree totals, a head; 4: columns in place; 5: running
# sums for the totals, day histograms packed narrow, the token at the end; 6: the day
# histograms' form in their first byte (walk.pack_hist)
CACHE_FORMAT = 6
# marshal's format changes between Python versions, the arrays' byte order between
# machines: a cache from another is ignored.
_TAG = f"omero-tui usage cache {CACHE_FORMAT} {sys.version_info[:2]} {sys.byteorder}\n".encode()
_TOKEN = 16  # bytes after the tag naming this very file (see save_scan)


@frozen
class Saved:
    path: Path
    token: bytes  # names the records file written or kept


def cache_path(state_dir: Path, data_dir: str) -> Path:
    key = sha256(os.path.abspath(data_dir).encode("utf-8", "surrogateescape"))
    return state_dir / "usage" / f"{key.hexdigest()[:24]}.scan"


def head_path(path: Path) -> Path:
    return path.with_suffix(".head")


def save_scan(scan: UsageScan, state_dir: Path) -> Path:
    return store_scan(scan, state_dir).path


def store_scan(scan: UsageScan, state_dir: Path) -> Saved:
    """Write atomically (temp file + rename): a crash leaves the old cache or the new one.

    A quick rescan that found nothing changed (its walk ``stored_as`` the file on disk)
    writes only the small head beside it: when and how that scan ran. A head counts
    only with the records file it names, so one left from an older file is ignored.
    """
    walk: WalkResult = scan.raw
    path = cache_path(state_dir, walk.plan.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    meta = _meta(walk)
    if walk.stored_as is not None and _token_of(path) == walk.stored_as:
        write_atomic(head_path(path), _TAG + walk.stored_as + marshal.dumps(meta), durable=False)
        return Saved(path, walk.stored_as)
    plan = walk.plan
    blobs = Blobs()
    payload = {
        "data_dir": plan.data_dir,
        "roots": [(r.name, r.path, r.kind, r.dev) for r in plan.roots],
        "units": [(u.name, u.path, u.kind, u.target, u.root, u.rel) for u in plan.units],
        "managed": plan.managed,
        "managed_unit": plan.managed_unit,
        # Tables already (assemble makes them): stored as they are.
        "tables": [RecordTable.of(records).dump(blobs) for records in walk.records],
        "links": walk.links,
        "problems": walk.problems,
        "mounts": walk.mounts,
        "days": walk.days,
        "entries": walk.entries,
        "pyramid_locks": None if walk.pyramid_locks is None else list(walk.pyramid_locks),
        "meta": meta,
    }
    token = os.urandom(_TOKEN)
    # No fsync: a cache torn or emptied by a power cut does not load (the tag, marshal's
    # own checks, the token it must end with), and then the next scan is a full one.
    body = marshal.dumps(payload)
    head = _TAG + token + len(body).to_bytes(8, "little")
    pad = bytes(-(len(head) + len(body)) % 8)
    # The parts as they are (the columns, the histograms: most of the file), not joined.
    write_atomic(path, [head, body, pad, *blobs.parts, token], durable=False)
    with contextlib.suppress(OSError):
        os.unlink(head_path(path))  # it names the file just replaced: no use now
    return Saved(path, token)


def load_scan(state_dir: Path, data_dir: str) -> UsageScan | None:
    """The cached scan of ``data_dir``, or None when there is none that loads cleanly."""
    walk = load_walk(state_dir, data_dir)
    return assemble(walk) if walk is not None else None


def load_walk(state_dir: Path, data_dir: str) -> WalkResult | None:
    """The cached walk, not summed up: all a rescan needs, in time by directories."""
    path = cache_path(state_dir, data_dir)
    try:
        with open(path, "rb") as handle:
            # One read, then loads: marshal.load on a file reads object by object.
            data = handle.read()
        token = _split(data)
        if token is None or not data.endswith(token):
            return None
        # The marshalled part, then the blobs (the records' columns), used in place.
        start = len(_TAG) + _TOKEN + 8
        end = start + int.from_bytes(data[start - 8 : start], "little")
        view = memoryview(data)
        payload = marshal.loads(view[start:end])
        if not isinstance(payload, dict) or payload["data_dir"] != os.path.abspath(data_dir):
            return None
        meta = _head(path, token) or payload["meta"]
        return _walk_of(payload, meta, token, view[end + (-end % 8) : len(data) - _TOKEN])
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        return None


def _split(data: bytes) -> bytes | None:
    if not data.startswith(_TAG) or len(data) < len(_TAG) + _TOKEN:
        return None
    return data[len(_TAG) : len(_TAG) + _TOKEN]


def _token_of(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return _split(handle.read(len(_TAG) + _TOKEN))
    except OSError:
        return None


def _head(path: Path, token: bytes) -> tuple | None:
    """The newer scan's meta when the head beside the file names it, else None."""
    try:
        with open(head_path(path), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if _split(data) != token:
        return None
    meta = marshal.loads(memoryview(data)[len(_TAG) + _TOKEN :])
    return meta if isinstance(meta, tuple) else None


def _meta(walk: WalkResult) -> tuple:
    """What differs between two scans that found the same: when and how each ran."""
    return (
        walk.started_at,
        walk.finished_at,
        walk.quick,
        walk.full_scan_at,
        walk.entries,
        sorted(walk.listed),
    )


def _walk_of(payload: dict, meta: tuple, token: bytes, blobs: memoryview) -> WalkResult:
    plan = ScanPlan(
        data_dir=payload["data_dir"],
        roots=tuple(ScanRoot(*r) for r in payload["roots"]),
        units=tuple(UnitSpec(*u) for u in payload["units"]),
        managed=tuple(payload["managed"]) if payload["managed"] else None,
        managed_unit=payload["managed_unit"],
    )
    started_at, finished_at, quick, full_scan_at, entries, listed = meta
    tables = [RecordTable.load(t, blobs) for t in payload["tables"]]
    if len(tables) != len(plan.roots):
        raise ValueError("a cache whose records do not match its roots")
    return WalkResult(
        plan=plan,
        records=tables,
        links=payload["links"],
        problems=[tuple(p) for p in payload["problems"]],
        mounts=[tuple(m) for m in payload["mounts"]],
        days=payload["days"],
        entries=entries,
        started_at=started_at,
        finished_at=finished_at,
        quick=quick,
        full_scan_at=full_scan_at,
        listed=frozenset(tuple(r) for r in listed),
        pyramid_locks=_pyramid_locks(payload["pyramid_locks"]),
        stored_as=token,
    )


def _pyramid_locks(stored: list | None) -> tuple[tuple[int, str, str], ...] | None:
    return None if stored is None else tuple(tuple(m) for m in stored)  # type: ignore[misc]
