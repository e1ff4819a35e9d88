"""A preflight check's answer: pass, warn or fail, with one plain sentence saying why."""

from __future__ import annotations

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.record import frozen

STATUSES = {"pass": Severity.OK, "warn": Severity.WARNING, "fail": Severity.CRITICAL}


@frozen
class Check:
    code: str  # stable, e.g. "relocation.target_not_empty"
    status: str  # "pass" | "warn" | "fail"
    reason: str  # one plain sentence
    path: str | None = None

    def finding(self) -> Finding:
        return Finding("relocation", STATUSES[self.status], self.code, self.reason, self.path)

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "status": self.status, "reason": self.reason, "path": self.path}


@frozen
class PreflightReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "fail")

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "warn")

    def findings(self) -> list[Finding]:
        return [c.finding() for c in self.checks]


def passed(code: str, reason: str, path: str | None = None) -> Check:
    return Check(code, "pass", reason, path)


def warn(code: str, reason: str, path: str | None = None) -> Check:
    return Check(code, "warn", reason, path)


def fail(code: str, reason: str, path: str | None = None) -> Check:
    return Check(code, "fail", reason, path)
