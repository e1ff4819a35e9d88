"""The health overview's shape: one verdict per area, each with its most important finding.

The same report drives the console's Overview, ``omero-tui check`` (text, JSON,
Prometheus) and the cache that lets the Overview show the last answer at once.
"""

from __future__ import annotations

from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.record import field, frozen

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

# (area, title): the order the overview lists them in, and the words it uses.
AREAS: tuple[tuple[str, str], ...] = (
    ("layout", "Layout"),
    ("usage", "Disk usage"),
    ("locks", "Lock health"),
    ("permissions", "Permissions"),
    ("server", "Server"),
    ("relocation", "Relocation"),
    ("database", "Database"),
)
AREA_TITLES = dict(AREAS)


class HealthCancelled(Exception):
    """The check was cancelled between two areas or inside a scan or probe."""


@frozen
class HealthProgress:
    area: str  # the area being checked now
    done: int  # areas finished
    total: int
    detail: str = ""  # e.g. a scan's or probe's own progress line


@frozen
class AreaHealth:
    area: str
    severity: Severity
    headline: str  # the most important finding, or why all is well, in one sentence
    findings: tuple[Finding, ...] = ()
    measured_at: float | None = None  # when its figures were measured (a scan may be older)
    note: str = ""  # how the answer was reached: "quick rescan", "probe not run", ...

    @property
    def title(self) -> str:
        return AREA_TITLES.get(self.area, self.area)

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "title": self.title,
            "severity": self.severity.label,
            "headline": self.headline,
            "note": self.note,
            "measured_at": self.measured_at,
            "findings": [f.to_json() for f in self.findings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AreaHealth:
        return cls(
            area=str(data["area"]),
            severity=severity_named(str(data["severity"])),
            headline=str(data["headline"]),
            findings=tuple(finding_from_json(f) for f in data.get("findings", [])),
            measured_at=data.get("measured_at"),
            note=str(data.get("note", "")),
        )


@frozen
class HealthReport:
    server_dir: str | None
    data_dir: str
    managed_dir: str
    areas: tuple[AreaHealth, ...]
    checked_at: float
    # What monitoring needs beyond findings (sizes, volumes, probe): see prometheus.py.
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return max((a.severity for a in self.areas), key=lambda s: s.rank, default=Severity.OK)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for a in self.areas for f in a.findings)

    def area(self, name: str) -> AreaHealth | None:
        return next((a for a in self.areas if a.area == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "server_dir": self.server_dir,
            "data_dir": self.data_dir,
            "managed_dir": self.managed_dir,
            "checked_at": self.checked_at,
            "severity": self.severity.label,
            "exit_code": self.severity.exit_code,
            "areas": [a.to_json() for a in self.areas],
            "findings": [f.to_json() for f in self.findings],
            "metrics": self.metrics,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HealthReport:
        return cls(
            server_dir=data.get("server_dir"),
            data_dir=str(data["data_dir"]),
            managed_dir=str(data.get("managed_dir", "")),
            areas=tuple(AreaHealth.from_json(a) for a in data["areas"]),
            checked_at=float(data["checked_at"]),
            metrics=dict(data.get("metrics", {})),
        )


def severity_named(label: str) -> Severity:
    for severity in Severity:
        if severity.label == label:
            return severity
    raise ValueError(f"unknown severity {label!r}")


def finding_from_json(data: dict[str, Any]) -> Finding:
    return Finding(
        area=str(data["area"]),
        severity=severity_named(str(data["severity"])),
        code=str(data["code"]),
        message=str(data["message"]),
        path=data.get("path"),
    )


def summarise(
    area: str,
    findings: tuple[Finding, ...] | list[Finding],
    all_well: str,
    *,
    severity: Severity | None = None,
    measured_at: float | None = None,
    note: str = "",
) -> AreaHealth:
    """An area's verdict: its worst finding's words, or ``all_well`` when nothing alarms."""
    findings = tuple(findings)
    verdict = worst(findings) if severity is None else severity
    if verdict is Severity.INFO:
        verdict = Severity.OK  # notes are not alarms
    alarms = sorted(
        (f for f in findings if f.severity.rank > Severity.INFO.rank),
        key=lambda f: -f.severity.rank,
    )
    headline = alarms[0].message if alarms else all_well
    if len(alarms) > 1:
        headline += f" (+{len(alarms) - 1} more)"
    return AreaHealth(area, verdict, headline, findings, measured_at, note)
