"""The last health report per repository, so the Overview shows an answer at once.

Stored as JSON in the state dir, one file per data dir, replaced atomically. A file
that cannot be read is ignored (the next check writes a good one): the cache only
ever saves time, it is never the only source of an answer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.health.model import HealthReport

CACHE_VERSION = 1


def cache_path(state_dir: Path, data_dir: str) -> Path:
    # The interpreter's own SHA-256, as the usage cache has it (hashlib's OpenSSL costs
    # every check more than the hash); imported here: ``check`` forks before it loads
    # the usage cache's modules (see health.check).
    from omero_tui.core.usage.cache import sha256

    key = sha256(os.path.abspath(data_dir).encode()).hexdigest()[:16]
    return Path(state_dir) / "health" / f"{key}.json"


def save_health(report: HealthReport, state_dir: Path) -> None:
    path = cache_path(state_dir, report.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"version": CACHE_VERSION, "report": report.to_json()})
    # No fsync: after a power cut an empty file is ignored like any unreadable one, and
    # the next check writes it again; the fsync cost every cron check milliseconds.
    write_atomic(path, payload.encode("utf-8"), durable=False)


def load_health(state_dir: Path, data_dir: str) -> HealthReport | None:
    path = cache_path(state_dir, data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            return None
        report = HealthReport.from_json(data["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if os.path.abspath(report.data_dir) != os.path.abspath(data_dir):
        return None
    return report
