"""The usage report: a scan, the volumes, the headroom verdict and the findings."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.record import frozen
from omero_tui.core.usage.format import by_month, human_bytes, stamp
from omero_tui.core.usage.headroom import Headroom, assess
from omero_tui.core.usage.history import HistoryPoint
from omero_tui.core.usage.model import UsageScan
from omero_tui.core.usage.volumes import Volume

MAX_MOUNT_FINDINGS = 5


@frozen
class UsageReport:
    scan: UsageScan
    volumes: tuple[Volume, ...]
    headroom: tuple[Headroom, ...]
    history: tuple[HistoryPoint, ...]  # this repository's past scans, oldest first
    findings: tuple[Finding, ...]
    verdict: Severity
    verdict_words: str  # "~41 days until full at the last 90 days' rate", and free space
    now: float

    @property
    def age(self) -> float:
        """Seconds since the figures were measured."""
        return self.now - self.scan.finished_at


def build_report(
    scan: UsageScan,
    volumes: Sequence[Volume],
    history: Sequence[HistoryPoint],
    now: float,
    thresholds: Mapping[str, float] | None = None,
) -> UsageReport:
    headroom = assess(scan, volumes, history, now, thresholds)
    findings = [f for h in headroom for f in h.findings] + scan_findings(scan)
    verdict = worst([*findings, *(_as_finding(h) for h in headroom)])
    if verdict is Severity.INFO:
        verdict = Severity.OK  # notes are not alarms: the verdict is OK/WARNING/CRITICAL/UNKNOWN
    return UsageReport(
        scan=scan,
        volumes=tuple(volumes),
        headroom=headroom,
        history=tuple(history),
        findings=tuple(findings),
        verdict=verdict,
        verdict_words=verdict_words(headroom),
        now=now,
    )


def _as_finding(headroom: Headroom) -> Finding:
    return Finding("usage", headroom.severity, "usage.headroom", headroom.words)


def verdict_words(headroom: Sequence[Headroom]) -> str:
    """The words of the volume that matters most (the worst; the data dir's on a tie)."""
    if not headroom:
        return "no volume measured"
    chosen = max(headroom, key=lambda h: h.severity.rank)
    if chosen.severity.rank <= headroom[0].severity.rank:
        chosen = headroom[0]
    if len(headroom) == 1:
        return chosen.words
    return f"{chosen.volume.mount_point}: {chosen.words}"


def scan_findings(scan: UsageScan) -> list[Finding]:
    findings: list[Finding] = []
    errors = scan.totals.errors
    tops = {root.path for root in scan.roots}
    if errors and errors == len(scan.problems) and all(_lost_found(p, tops) for p in scan.problems):
        # Only a filesystem's own lost+found (root's, mode 700): not repository data, and
        # a scan as the server user meets it on every volume of its own.
        findings.append(
            Finding(
                "usage",
                Severity.INFO,
                "usage.lost_found_unreadable",
                f"{errors:,} lost+found director{'y' if errors == 1 else 'ies'} could not be "
                "read (root's alone): counted as errors, like du does, but not repository data.",
                scan.problems[0][1],
            )
        )
    elif errors:
        first = scan.problems[0] if scan.problems else ("", "", "unknown")
        findings.append(
            Finding(
                "usage",
                Severity.WARNING,
                "usage.scan_errors",
                f"{errors:,} entries could not be read ({first[2]}), so the totals miss what "
                "they hold; if the server user cannot read them either, OMERO cannot serve them.",
                first[1] or None,
            )
        )
    for path in scan.nested_mounts[:MAX_MOUNT_FINDINGS]:
        findings.append(
            Finding(
                "usage",
                Severity.WARNING,
                "usage.nested_mount",
                "Another filesystem is mounted inside the repository: it is not counted here "
                "(nor by du -x), and a move that stays on one filesystem would leave it behind.",
                path,
            )
        )
    links = scan.external_links
    if links.files:
        findings.append(
            Finding(
                "usage",
                Severity.INFO,
                "usage.external_links",
                f"{links.files:,} files ({human_bytes(links.allocated_bytes)}) also have links "
                "outside the repository (in-place imports): moving the repository to another "
                "volume copies them in full and frees nothing where they are.",
                links.examples[0] if links.examples else None,
            )
        )
    if scan.quick:
        findings.append(
            Finding(
                "usage",
                Severity.INFO,
                "usage.quick_rescan",
                f"Quick rescan: {scan.reused_dirs:,} of {scan.totals.dirs:,} directories "
                f"were unchanged since the full scan of {stamp(scan.full_scan_at)} and were "
                "not re-read, so files changed in place since then are not seen.",
            )
        )
    return findings


def _lost_found(problem: tuple[str, str, str], tops: set[str]) -> bool:
    """A directory that could not be opened: lost+found, at the top of a walked tree."""
    listed, path, _ = problem
    top, name = os.path.split(path)
    return listed == path and name == "lost+found" and top in tops


def report_json(report: UsageReport) -> dict[str, object]:
    scan = report.scan
    repository = {
        "name": "repository",
        "path": scan.data_dir,
        **scan.totals.to_json(),
        "volumes": [v.to_json() for v in report.volumes],
        "verdict": report.verdict.label,
        "verdict_words": report.verdict_words,
    }
    return {
        "data_dir": scan.data_dir,
        "scanned_at": stamp(scan.finished_at),
        "scanned_at_epoch": scan.finished_at,
        "duration_seconds": round(scan.duration, 3),
        "quick": scan.quick,
        "full_scan_at": stamp(scan.full_scan_at),
        "reused_dirs": scan.reused_dirs,
        "listed_dirs": scan.listed_dirs,
        "repository": repository,
        "subdirectories": [
            {
                "name": u.name,
                "path": u.path,
                "kind": u.kind,
                "target": u.target,
                **u.totals.to_json(),
                "reused": u.reused,
            }
            for u in scan.units
        ],
        "headroom": [
            {
                "mount_point": h.volume.mount_point,
                "severity": h.severity.label,
                "words": h.words,
                **h.projection.to_json(),
            }
            for h in report.headroom
        ],
        "growth": {
            "by_modification_month": by_month(scan.growth.total_by_mtime),
            "managed_by_import_month": by_month(scan.growth.managed_by_import),
        },
        "external_links": {
            "files": scan.external_links.files,
            "apparent_bytes": scan.external_links.apparent_bytes,
            "allocated_bytes": scan.external_links.allocated_bytes,
            "examples": list(scan.external_links.examples),
        },
        "nested_mounts": list(scan.nested_mounts),
        "problems": [{"path": p[1], "reason": p[2]} for p in scan.problems],
        "findings": [f.to_json() for f in report.findings],
        "verdict": report.verdict.label,
        "exit_code": report.verdict.exit_code,
    }
