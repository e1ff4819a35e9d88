"""Free space, growth rate, days to full and the verdict thresholds; the scan history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omero_tui.core.findings import Severity
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import replace
from omero_tui.core.usage.format import human_bytes, human_days, sparkline
from omero_tui.core.usage.headroom import WINDOW_DAYS, assess
from omero_tui.core.usage.history import (
    HistoryPoint,
    VolumePoint,
    append_history,
    history_path,
    read_history,
    unit_series,
)
from omero_tui.core.usage.pool import ScanPool
from omero_tui.core.usage.report import build_report
from omero_tui.core.usage.scan import scan_usage
from omero_tui.core.usage.volumes import Volume, read_volumes
from tests.bench.usage_tree import FIXED_MTIME, make_tricky_tree

DAY = 86400
GIB = 1 << 30
NOW = FIXED_MTIME + 10 * DAY  # the tricky tree's files are 10 (and 50) days old


@pytest.fixture
def scan(tmp_path: Path):  # noqa: ANN201
    return scan_usage(str(make_tricky_tree(tmp_path / "OMERO")), pool=ScanPool(0))


def volume(free: int, total: int = 100 * GIB, inodes: tuple[int, int] | None = None) -> Volume:
    return Volume(
        mount_point="/",
        device="/dev/vda on / (ext4)",
        holds=("data dir",),
        path="/",
        total_bytes=total,
        used_bytes=total - free,
        free_bytes=free,
        total_inodes=inodes[0] if inodes else None,
        free_inodes=inodes[1] if inodes else None,
    )


def test_real_volume_of_the_scan_is_measured(scan) -> None:  # noqa: ANN001
    (measured,) = read_volumes(scan, MountTable.read())
    assert measured.error is None and measured.holds == ("data dir",)
    assert 0 < measured.free_bytes <= measured.total_bytes
    assert measured.mount_point and measured.device


def test_growth_from_file_dates_gives_days_to_full(scan) -> None:  # noqa: ANN001
    growth, first = scan.growth, NOW // DAY - WINDOW_DAYS
    # ManagedRepository grows by import date (its path), the rest by modification date.
    recent = sum(b for d, b in growth.managed_by_import.items() if d >= first) + sum(
        b
        for name, days in growth.by_mtime.items()
        if name != "ManagedRepository"
        for d, b in days.items()
        if d >= first
    )
    free = int(recent / WINDOW_DAYS * 30)  # 30 days of growth left
    (headroom,) = assess(scan, [volume(free, total=free * 4)], [], NOW)
    assert headroom.projection.source == "file dates"
    assert headroom.projection.days_to_full == pytest.approx(30, rel=0.01)
    assert headroom.severity is Severity.WARNING  # under days_warn (60), over critical (14)
    assert "~30 days until full at the last 90 days' rate" in headroom.words
    assert [f.code for f in headroom.findings] == ["usage.days_to_full"]


def test_growth_from_past_scans_wins_when_they_span_a_week(scan) -> None:  # noqa: ANN001
    past = [
        HistoryPoint(
            NOW - 20 * DAY, False, 0, 0, 0, volumes={"/": VolumePoint(50 * GIB, 100 * GIB)}
        )
    ]
    # 10 GiB more used over 20 days: 0.5 GiB a day, 10 GiB free: 20 days left.
    (headroom,) = assess(scan, [volume(10 * GIB, 70 * GIB)], past, NOW)
    assert headroom.projection.source == "past scans"
    assert headroom.projection.rate_bytes_per_day == pytest.approx(GIB / 2)
    assert headroom.projection.days_to_full == pytest.approx(20)


@pytest.mark.parametrize(
    ("free_percent", "severity"),
    [(50, Severity.OK), (10, Severity.WARNING), (3, Severity.CRITICAL)],
)
def test_free_space_thresholds(scan, free_percent, severity) -> None:  # noqa: ANN001
    now = NOW + 400 * DAY  # no recent files: not growing, so only free space counts
    (headroom,) = assess(scan, [volume(free_percent * GIB)], [], now)
    assert headroom.severity is severity
    assert headroom.projection.days_to_full is None
    assert "not growing" in headroom.words


def test_thresholds_come_from_the_settings(scan) -> None:  # noqa: ANN001
    now = NOW + 400 * DAY
    (headroom,) = assess(scan, [volume(30 * GIB)], [], now, {"free_warn_percent": 40.0})
    assert headroom.severity is Severity.WARNING


def test_inodes_running_out_are_critical(scan) -> None:  # noqa: ANN001
    now = NOW + 400 * DAY
    (headroom,) = assess(scan, [volume(50 * GIB, inodes=(1_000_000, 20_000))], [], now)
    assert headroom.severity is Severity.CRITICAL
    assert [f.code for f in headroom.findings] == ["usage.inodes_low"]


def test_unmeasurable_volume_is_unknown_not_ok(scan) -> None:  # noqa: ANN001
    broken = Volume("/x", "", ("data dir",), "/x", error="Stale file handle")
    report = build_report(scan, [broken], [], NOW)
    assert report.verdict is Severity.UNKNOWN and report.verdict.exit_code == 3
    assert "usage.volume_unreadable" in {f.code for f in report.findings}


def test_report_verdict_words_and_notes_do_not_raise_the_verdict(scan) -> None:  # noqa: ANN001
    report = build_report(scan, [volume(80 * GIB)], [], NOW + 400 * DAY)
    assert report.verdict is Severity.OK
    assert report.verdict_words == "80.0 GiB free (80%), not growing at the last 90 days' rate"


def test_history_appends_reads_per_repository_and_skips_torn_lines(scan, tmp_path) -> None:  # noqa: ANN001
    state = tmp_path / "state"
    points = {"/": VolumePoint(1, 2)}
    append_history(scan, points, state)
    other = replace(scan, data_dir=str(tmp_path / "elsewhere"))
    append_history(other, points, state)
    with open(history_path(state), "a", encoding="utf-8") as torn:
        torn.write('{"repository": "' + scan.data_dir + '", "at": 1')  # a crash mid-line
    later = replace(scan, finished_at=scan.finished_at + 60)
    append_history(later, points, state)  # ends the torn line first: not glued to it
    history = read_history(state, scan.data_dir)
    assert [p.at for p in history] == [scan.finished_at, scan.finished_at + 60]
    assert history[0].volumes == points
    pixels = scan.unit("Pixels").totals.allocated_bytes
    assert unit_series(history, "Pixels") == [pixels, pixels]
    line = json.loads(history_path(state).read_text().splitlines()[0])
    assert line["units"]["Pixels"] == pixels
    assert history_path(state).stat().st_mode & 0o777 == 0o600


def test_history_trims_to_the_newest_lines_atomically(scan, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from omero_tui.core.usage import history as usage_history

    monkeypatch.setattr(usage_history, "TRIM_AT_BYTES", 1)  # trim after every append
    monkeypatch.setattr(usage_history, "MAX_LINES", 3)
    state = tmp_path / "state"
    for minute in range(6):
        later = replace(scan, finished_at=scan.finished_at + 60 * minute)
        append_history(later, {}, state)
    history = read_history(state, scan.data_dir)
    assert [p.at - scan.finished_at for p in history] == [180, 240, 300]
    assert sorted(p.name for p in state.iterdir()) == [usage_history.HISTORY_FILE]


def test_words_for_sizes_and_days() -> None:
    assert human_bytes(0) == "0 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(250 * GIB) == "250 GiB"
    assert human_days(41.4) == "~41 days"
    assert human_days(800) == "~2 years"
    assert sparkline([1, 2, 3, 4]) == "▁▃▅█"
    assert sparkline([5, 5]) == "▁▁"
    assert sparkline([]) == ""
