"""Findings: the one shape every check in the console reports in.

Panels, the headless commands and monitoring all speak this type, so a finding
raised by the layout check reads the same in the UI, in JSON and in an exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from omero_tui.core.record import frozen


class Severity(Enum):
    """Severity of a finding, ordered by how loudly it must be heard.

    ``rank`` orders them (CRITICAL beats UNKNOWN: a check that could not run must not
    hide one that failed); ``exit_code`` follows the Nagios/Icinga convention.
    """

    OK = ("ok", 0, 0)
    INFO = ("info", 1, 0)
    WARNING = ("warning", 2, 1)
    UNKNOWN = ("unknown", 3, 3)
    CRITICAL = ("critical", 4, 2)

    def __init__(self, label: str, rank: int, exit_code: int) -> None:
        self.label = label
        self.rank = rank
        self.exit_code = exit_code


@frozen
class Finding:
    area: str  # "layout", "usage", "locks", "permissions", "server", "relocation"
    severity: Severity
    code: str  # stable machine-readable id, e.g. "layout.subdir_missing"
    message: str  # one plain sentence: what is wrong and why it matters
    path: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "area": self.area,
            "severity": self.severity.label,
            "code": self.code,
            "message": self.message,
            "path": self.path,
        }


def worst(findings: Iterable[Finding]) -> Severity:
    """Overall severity of some findings (OK when there are none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 process``, ``2 processes``, ``12,345 files``: how every count is written."""
    if n == 1:
        return f"1 {noun}"
    if plural is None and noun.endswith("y") and noun[-2:-1] not in "aeiou":
        plural = noun[:-1] + "ies"
    elif plural is None:
        plural = noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{n:,} {plural}"
