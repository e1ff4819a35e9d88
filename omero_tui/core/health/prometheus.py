"""A node-exporter textfile of the health report, written atomically.

node_exporter's textfile collector reads ``*.prom`` files from a directory at every
scrape; a half-written file would be read as garbage, so the text goes to a temporary
name in the same directory and is renamed over the old one (the collector ignores
names that do not end in ``.prom``).
"""

from __future__ import annotations

import math
from pathlib import Path

from omero_tui.core.atomic_write import write_atomic
from omero_tui.core.findings import Severity
from omero_tui.core.health.model import HealthReport

PREFIX = "omero_tui"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


class _Writer:
    """Collects samples per metric: a family's samples must follow its HELP and TYPE."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def metric(self, name: str, kind: str, help_text: str) -> None:
        self._families.setdefault(f"{PREFIX}_{name}", (kind, help_text, []))

    def sample(self, name: str, value: float | int, **labels: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            return
        text = repr(float(value)) if isinstance(value, float) else str(int(value))
        full = f"{PREFIX}_{name}"
        self._families[full][2].append(f"{full}{_labels(**labels)} {text}")

    def text(self) -> str:
        lines = []
        for full, (kind, help_text, samples) in self._families.items():
            if samples:
                lines += [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}", *samples]
        return "\n".join(lines) + "\n"


def render(report: HealthReport) -> str:
    out = _Writer()
    repo = {"data_dir": report.data_dir}
    out.metric("check_status", "gauge", "Overall verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    out.sample("check_status", report.severity.exit_code, **repo)
    out.metric("check_timestamp_seconds", "gauge", "When the check ran (Unix time).")
    out.sample("check_timestamp_seconds", round(report.checked_at, 3), **repo)
    out.metric("area_status", "gauge", "Verdict per area: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    for area in report.areas:
        out.sample("area_status", area.severity.exit_code, area=area.area, **repo)
    out.metric("findings", "gauge", "Number of findings by severity.")
    for severity in (Severity.INFO, Severity.WARNING, Severity.CRITICAL, Severity.UNKNOWN):
        count = sum(1 for f in report.findings if f.severity is severity)
        out.sample("findings", count, severity=severity.label, **repo)

    metrics = report.metrics
    subdirs = metrics.get("subdirectories")
    if subdirs is not None:
        out.metric("repository_bytes", "gauge", "Bytes per subdirectory (allocated|apparent).")
        out.metric("repository_files", "gauge", "Regular files per subdirectory.")
        rows = [*subdirs, {"name": "repository", **metrics["repository"]}]
        for row in rows:
            for kind in ("allocated", "apparent"):
                out.sample(
                    "repository_bytes", row[f"{kind}_bytes"], subdir=row["name"], kind=kind, **repo
                )
        for row in rows:
            out.sample("repository_files", row["files"], subdir=row["name"], **repo)
        out.metric("scan_timestamp_seconds", "gauge", "When the usage figures were measured.")
        out.sample("scan_timestamp_seconds", round(float(metrics["scanned_at"]), 3), **repo)
    volumes = metrics.get("volumes") or []
    if volumes:
        out.metric("volume_free_bytes", "gauge", "Bytes an unprivileged user may still write.")
        out.metric("volume_size_bytes", "gauge", "Size of the filesystem.")
        out.metric("volume_free_inodes", "gauge", "Free inodes (absent without a fixed table).")
        out.metric("days_to_full", "gauge", "Projected days until the volume is full.")
        for volume in volumes:
            where = {"mount_point": volume["mount_point"], **repo}
            for name, key in (
                ("volume_free_bytes", "free_bytes"),
                ("volume_size_bytes", "total_bytes"),
                ("volume_free_inodes", "free_inodes"),
                ("days_to_full", "days_to_full"),
            ):
                if volume.get(key) is not None:
                    value = volume[key]
                    out.sample(name, float(value) if key == "days_to_full" else value, **where)
    probes = metrics.get("lock_probe")
    if probes:
        out.metric("lock_probe_ok", "gauge", "1 when flock, fcntl and write probes all passed.")
        for row in probes:
            out.sample("lock_probe_ok", 1 if row["passed"] else 0, dir=row["name"], **repo)
    return out.text()


def write_textfile(report: HealthReport, path: Path) -> None:
    """Write ``render(report)`` to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OSError(f"{directory} is not a directory")
    # 0644: the exporter often runs as another user.
    write_atomic(path, render(report).encode("utf-8"), mode=0o644)
