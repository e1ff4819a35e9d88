"""The last scan of each repository, kept in the state dir for a quick rescan and a fast start.

Stored with ``marshal``: the records are tuples of ints, strings and bytes, which it
writes and reads several times faster than JSON or pickle. ``marshal`` is not meant
for data from others, so the file lives in the admin's own state dir, is written
0600, and any file that does not load cleanly (another Python, a torn write, a
stranger's file) is ignored: the next scan is simply a full one.
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic

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

CACHE_FORMAT = 1
# marshal's format changes between Python versions; a cache from another is ignored.
_TAG = f"omero-tui usage cache {CACHE_FORMAT} {sys.version_info[:2]}"


def cache_path(state_dir: Path, data_dir: str) -> Path:
    key = sha256(os.path.abspath(data_dir).encode("utf-8", "surrogateescape"))
    return state_dir / "usage" / f"{key.hexdigest()[:24]}.scan"


def save_scan(scan: UsageScan, state_dir: Path) -> Path:
    """Write atomically (temp file + rename): a crash leaves the old cache or the new one."""
    walk: WalkResult = scan.raw
    plan = walk.plan
    payload = {
        "tag": _TAG,
        "data_dir": plan.data_dir,
        "roots": [(r.name, r.path, r.kind, r.dev) for r in plan.roots],
        "units": [(u.name, u.path, u.kind, u.target, u.root, u.rel) for u in plan.units],
        "managed": plan.managed,
        "managed_unit": plan.managed_unit,
        "records": [list(r.values()) for r in walk.records],
        "links": walk.links,
        "problems": walk.problems,
        "mounts": walk.mounts,
        "days": walk.days,
        "entries": walk.entries,
        "started_at": walk.started_at,
        "finished_at": walk.finished_at,
        "quick": walk.quick,
        "full_scan_at": walk.full_scan_at,
        "reused": list(walk.reused),
    }
    path = cache_path(state_dir, plan.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # No fsync: a cache torn or emptied by a power cut does not load (the tag and
    # marshal's own checks), and then the next scan is a full one.
    write_atomic(path, marshal.dumps(payload), durable=False)
    return path


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
            payload = marshal.loads(handle.read())
        if not isinstance(payload, dict) or payload.get("tag") != _TAG:
            return None
        if payload["data_dir"] != os.path.abspath(data_dir):
            return None
        return _walk_of(payload)
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        return None


def _walk_of(payload: dict) -> WalkResult:
    plan = ScanPlan(
        data_dir=payload["data_dir"],
        roots=tuple(ScanRoot(*r) for r in payload["roots"]),
        units=tuple(UnitSpec(*u) for u in payload["units"]),
        managed=tuple(payload["managed"]) if payload["managed"] else None,
        managed_unit=payload["managed_unit"],
    )
    return WalkResult(
        plan=plan,
        records=[{r[0]: r for r in records} for records in payload["records"]],
        links=payload["links"],
        problems=[tuple(p) for p in payload["problems"]],
        mounts=[tuple(m) for m in payload["mounts"]],
        days=payload["days"],
        entries=payload["entries"],
        started_at=payload["started_at"],
        finished_at=payload["finished_at"],
        quick=payload["quick"],
        full_scan_at=payload["full_scan_at"],
        reused=frozenset(tuple(r) for r in payload["reused"]),
    )
