"""Server-log symptoms: counts, last time, last line, and a bounded tail."""
# ruff: noqa: E501 - recorded log lines are kept as the servers wrote them

from __future__ import annotations

from pathlib import Path

from omero_tui.core.findings import Severity
from omero_tui.core.locks.log_symptoms import scan_log, scan_logs, symptom_findings

BLITZ = """\
2026-11-20 09:14:01,120 INFO  [        ome.services.blitz.Entry] (      main) OMERO.blitz now accepting connections.
2026-11-20 09:20:44,002 ERROR [ ome.services.blitz.repo.PublicRepositoryI] (l.Server-7) Failed to write
java.io.IOException: Bad file descriptor
\tat java.base/sun.nio.ch.FileDispatcherImpl.write0(Native Method)
2026-11-20 10:02:13,771 ERROR [      ome.io.nio.PixelsService] (l.Server-3) Cannot read pixels
java.lang.NullPointerException: null
\tat ome.io.bioformats.BfPixelBuffer.getTile(BfPixelBuffer.java:204)
2026-11-20 11:30:00,500 WARN  [ ome.services.blitz.repo.PublicRepositoryI] (l.Server-1) java.io.IOException: Stale file handle
2026-11-20 11:45:10,000 ERROR [      ome.services.blitz.repo.PublicRepositoryI] (l.Server-2) write failed: Bad file descriptor
"""
INDEXER = """\
2026-11-19 02:00:00,000 ERROR [ org.hibernate.search.exception.impl.LogErrorHandler] (2-thread-1) Exception occurred org.apache.lucene.store.LockObtainFailedException: Lock obtain timed out: NativeFSLock@/OMERO/FullText/write.lock
"""
TABLES = """\
2026-11-18 08:00:00,000 INFO  [                omero.tables.TablesI] (MainThread) Started Tables-0
2026-11-18 08:00:05,000 ERROR [                omero.tables.TablesI] (MainThread) OSError: [Errno 30] Read-only file system: '/OMERO/Files/12'
"""


def server_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "OMERO.server" / "var" / "log"
    logs.mkdir(parents=True)
    (logs / "Blitz-0.log").write_text(BLITZ)
    (logs / "Indexer-0.log").write_text(INDEXER)
    (logs / "Tables-0.log").write_text(TABLES)
    (logs / "master.out").write_text("Bad file descriptor (not a *.log, never read)\n")
    return tmp_path / "OMERO.server"


def test_counts_last_time_and_last_line_per_log(tmp_path: Path) -> None:
    result = scan_logs(str(server_dir(tmp_path)))
    assert [log.name for log in result.logs] == ["Blitz-0.log", "Indexer-0.log", "Tables-0.log"]
    blitz = {h.key: h for h in result.logs[0].hits}
    assert blitz["bad_fd"].count == 2
    assert blitz["bad_fd"].last_time == "2026-11-20 11:45:10"
    assert blitz["bad_fd"].last_line.endswith("write failed: Bad file descriptor")
    # A stack trace line belongs to the stamped line above it.
    assert blitz["npe"].last_time == "2026-11-20 10:02:13"
    assert blitz["stale_handle"].count == 1
    assert result.logs[0].last_line is not None
    assert result.logs[0].last_line.endswith("write failed: Bad file descriptor")
    assert result.logs[0].last_time == "2026-11-20 11:45:10"
    assert [h.key for h in result.logs[1].hits] == ["lock_timeout"]
    assert [h.key for h in result.logs[2].hits] == ["read_only"]
    assert result.total("bad_fd") == 2  # master.out is not a *.log


def test_findings_one_per_symptom_with_why(tmp_path: Path) -> None:
    findings = {f.code: f for f in symptom_findings(scan_logs(str(server_dir(tmp_path))))}
    assert set(findings) == {
        "locks.log_bad_fd",
        "locks.log_npe",
        "locks.log_stale_handle",
        "locks.log_lock_timeout",
        "locks.log_read_only",
    }
    bad_fd = findings["locks.log_bad_fd"]
    assert bad_fd.severity is Severity.WARNING
    assert "2 times" in bad_fd.message and "last at 2026-11-20 11:45:10" in bad_fd.message
    assert "locking" in bad_fd.message
    assert bad_fd.path is not None and bad_fd.path.endswith("Blitz-0.log")
    assert findings["locks.log_npe"].severity is Severity.INFO
    assert "read-only" in findings["locks.log_read_only"].message


def test_only_the_tail_is_read(tmp_path: Path) -> None:
    log = tmp_path / "Blitz-0.log"
    old = "2026-01-01 00:00:00,000 ERROR [x] (main) Bad file descriptor\n"
    filler = "2026-06-01 00:00:00,000 INFO  [x] (main) " + "all is well " * 5 + "\n"
    recent = "2026-11-20 12:00:00,000 ERROR [x] (main) Input/output error\n"
    log.write_text(old + filler * 2000 + recent)
    scan = scan_log(str(log), tail_bytes=4096)
    assert scan.scanned_bytes == 4096 and scan.size > 100_000
    assert [h.key for h in scan.hits] == ["io_error"]  # the old one is beyond the tail
    # The tail's first, cut-in-half line is dropped rather than half-matched.
    cut = scan_log(str(log), tail_bytes=len(recent) + 10)
    assert [h.key for h in cut.hits] == ["io_error"]


def test_clean_logs_no_findings_and_no_server_dir_is_info(tmp_path: Path) -> None:
    logs = tmp_path / "srv" / "var" / "log"
    logs.mkdir(parents=True)
    (logs / "Blitz-0.log").write_text("2026-11-20 09:14:01,120 INFO  [x] (main) started\n")
    assert symptom_findings(scan_logs(str(tmp_path / "srv"))) == []
    (finding,) = symptom_findings(scan_logs(None))
    assert (finding.code, finding.severity) == ("locks.logs_not_read", Severity.INFO)
    missing = scan_logs(str(tmp_path / "nowhere"))
    assert missing.error is not None and "does not exist" in missing.error
