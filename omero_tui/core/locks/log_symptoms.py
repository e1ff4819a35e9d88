"""Symptoms of broken locking and storage in the server's own logs.

OMERO documents ``NullPointerException`` and ``Bad file descriptor`` in the server
logs as the signs of a share without proper locking; Lucene says ``Lock obtain timed
out``, NFS says ``Stale file handle``, ``No locks available`` and ``Input/output
error``. Only the tail of each ``$OMERODIR/var/log/*.log`` is read (a bounded number
of bytes), because logs on a long-running server are large and this runs on demand.
"""

from __future__ import annotations

import glob
import os
import re

from omero_tui.core.findings import Finding, Severity
from omero_tui.core.record import frozen

DEFAULT_TAIL_BYTES = 2 * 1024 * 1024
MAX_LINE_CHARS = 400  # a matching line is shown, not a whole stack trace
# OMERO's Java (logback) and Python servers both start a line with this stamp.
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


@frozen
class Symptom:
    key: str
    label: str
    pattern: re.Pattern[str]
    severity: Severity
    why: str  # finishes the sentence "<label> appears N times in X: ..."


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "bad_fd",
        "Bad file descriptor",
        re.compile(r"Bad file descriptor"),
        Severity.WARNING,
        "OMERO documents this as the sign of a repository share without proper locking",
    ),
    Symptom(
        "npe",
        "NullPointerException",
        re.compile(r"NullPointerException"),
        Severity.INFO,
        "a documented symptom of broken locking on remote shares, though it has other causes",
    ),
    Symptom(
        "stale_handle",
        "Stale file handle",
        re.compile(r"Stale (NFS )?file handle|ESTALE"),
        Severity.WARNING,
        "files were replaced or the share remounted under the running server",
    ),
    Symptom(
        "lock_timeout",
        "Lock obtain timed out",
        re.compile(r"Lock obtain timed out"),
        Severity.WARNING,
        "the search index could not take its lock, so indexing stalls",
    ),
    Symptom(
        "no_locks",
        "No locks available",
        re.compile(r"No locks available|ENOLCK"),
        Severity.WARNING,
        "the filesystem refused to lock at all (NFS lockd/statd not working)",
    ),
    Symptom(
        "io_error",
        "Input/output error",
        re.compile(r"Input/output error|\bEIO\b"),
        Severity.WARNING,
        "the storage failed reads or writes, which can leave repository files damaged",
    ),
    Symptom(
        "read_only",
        "read-only repository",
        re.compile(
            r"Read-only file system|EROFS|read[- ]only (repository|data ?dir)"
            r"|(repository|data dir\S*) (is )?(not writable|read[- ]only)",
            re.IGNORECASE,
        ),
        Severity.WARNING,
        "a server that cannot write its repository keeps running read-only without saying so",
    ),
)


@frozen
class SymptomHit:
    key: str
    label: str
    count: int
    last_time: str | None  # the log stamp of the last occurrence ("2026-11-20 09:14:03")
    last_line: str


@frozen
class LogScan:
    path: str
    name: str  # "Blitz-0.log"
    size: int
    scanned_bytes: int  # < size when only the tail was read
    hits: tuple[SymptomHit, ...]
    last_line: str | None = None  # the last line matching any symptom (logs run in time order)
    last_time: str | None = None
    error: str | None = None


@frozen
class LogSymptoms:
    log_dir: str | None  # None when no server dir is known
    tail_bytes: int
    logs: tuple[LogScan, ...]
    error: str | None = None  # why nothing could be scanned

    def total(self, key: str) -> int:
        return sum(h.count for log in self.logs for h in log.hits if h.key == key)


def scan_logs(server_dir: str | None, *, tail_bytes: int = DEFAULT_TAIL_BYTES) -> LogSymptoms:
    if not server_dir:
        return LogSymptoms(None, tail_bytes, (), "no server dir known, so no logs to read")
    log_dir = os.path.join(server_dir, "var", "log")
    if not os.path.isdir(log_dir):
        return LogSymptoms(log_dir, tail_bytes, (), f"{log_dir} does not exist")
    paths = sorted(glob.glob(os.path.join(glob.escape(log_dir), "*.log")))
    return LogSymptoms(log_dir, tail_bytes, tuple(scan_log(p, tail_bytes) for p in paths))


def scan_log(path: str, tail_bytes: int = DEFAULT_TAIL_BYTES) -> LogScan:
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - tail_bytes)
            handle.seek(start)
            data = handle.read(tail_bytes)
    except OSError as err:
        return LogScan(path, name, 0, 0, (), error=err.strerror or str(err))
    text = data.decode("utf-8", errors="replace")
    if start > 0:
        text = text.partition("\n")[2]  # the first line was cut in half
    hits, last = _match(text)
    return LogScan(path, name, size, len(data), hits, last[1], last[0])


def _match(text: str) -> tuple[tuple[SymptomHit, ...], tuple[str | None, str | None]]:
    """(hits per symptom, (time, text) of the last matching line)."""
    counts: dict[str, int] = {}
    last: dict[str, tuple[str | None, str]] = {}
    latest: tuple[str | None, str | None] = (None, None)
    stamp: str | None = None
    for line in text.splitlines():
        seen = _STAMP.match(line)
        if seen:
            stamp = seen.group(1)  # a stack trace line belongs to the last stamped line
        for symptom in SYMPTOMS:
            if symptom.pattern.search(line):
                counts[symptom.key] = counts.get(symptom.key, 0) + 1
                last[symptom.key] = latest = (stamp, line.strip()[:MAX_LINE_CHARS])
    hits = tuple(
        SymptomHit(s.key, s.label, counts[s.key], *last[s.key]) for s in SYMPTOMS if s.key in counts
    )
    return hits, latest


def symptom(key: str) -> Symptom:
    return next(s for s in SYMPTOMS if s.key == key)


def symptom_findings(logs: LogSymptoms) -> list[Finding]:
    """One finding per symptom seen, across all logs, pointing at the latest log."""
    if logs.error:
        return [
            Finding(
                "locks",
                Severity.INFO,
                "locks.logs_not_read",
                f"The server logs were not scanned for lock symptoms: {logs.error}.",
                logs.log_dir,
            )
        ]
    findings = []
    window = (
        f"{logs.tail_bytes // (1024 * 1024)} MiB"
        if logs.tail_bytes >= 1 << 20
        else (f"{logs.tail_bytes} bytes")
    )
    for sym in SYMPTOMS:
        seen = [(log, hit) for log in logs.logs for hit in log.hits if hit.key == sym.key]
        if not seen:
            continue
        count = sum(hit.count for _, hit in seen)
        log, hit = max(seen, key=lambda lh: lh[1].last_time or "")
        names = ", ".join(sorted(lg.name for lg, _ in seen))
        when = f", last at {hit.last_time}" if hit.last_time else ""
        findings.append(
            Finding(
                "locks",
                sym.severity,
                f"locks.log_{sym.key}",
                f"'{sym.label}' appears {count} time{'s' if count != 1 else ''} in the last "
                f"{window} of {names}{when}: {sym.why}.",
                log.path,
            )
        )
    return findings
