"""What the Disk usage panel shows, as Rich text and table rows (no widget state here)."""

from __future__ import annotations

from rich.text import Text

from omero_tui.core.findings import Severity
from omero_tui.core.record import frozen, replace
from omero_tui.core.usage.files import FileListing
from omero_tui.core.usage.format import (
    by_month,
    human_age,
    human_bytes,
    human_count,
    progress_words,
    sparkline,
    stamp,
)
from omero_tui.core.usage.headroom import DAY, MIN_HISTORY_SPAN_DAYS, WINDOW_DAYS
from omero_tui.core.usage.history import unit_series
from omero_tui.core.usage.model import Totals, UsageProgress, UsageScan
from omero_tui.core.usage.report import UsageReport
from omero_tui.tui.widgets.presentation import finding_text, severity_text

BAR_WIDTH = 10
KIND_MARKS = {"symlink": " →", "mount point": " (mount)"}  # scanned at the target, shown so
_EIGHTHS = " ▏▎▍▌▋▊▉"
SORTS = ("size", "name", "files")
Level = tuple[int, str] | None  # None: the repository's rows; else (root, rel) in the tree


@frozen
class Row:
    key: str
    name: str
    allocated: int
    files: int | None
    kind: str  # "unit" | "dir" | "file" | "files" (aggregate) | "more"
    target: tuple[int, str] | None = None  # the directory Enter opens
    apparent: int = 0
    reused: bool = False
    trend: str = ""


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


def rows_for(report: UsageReport, level: Level, listing: FileListing | None) -> list[Row]:
    scan = report.scan
    if level is None:
        return [
            Row(
                key=f"u:{u.name}",
                name=u.name + "/" + KIND_MARKS.get(u.kind, ""),
                allocated=u.totals.allocated_bytes,
                files=u.totals.files,
                kind="unit",
                target=(u.root, u.rel),
                reused=u.reused,
                trend=trend_of(unit_series(report.history, u.name)),
            )
            for u in scan.units
        ]
    root, rel = level
    tree = scan.tree
    rows = []
    for child in tree.children(root, rel):
        totals = tree.totals(root, child)
        name = child.rpartition("/")[2] + "/"
        rows.append(
            Row(f"d:{child}", name, totals.allocated_bytes, totals.files, "dir", (root, child))
        )
    here = tree.direct(root, rel)
    if listing is None or listing.error:
        if here.files or here.allocated_bytes:
            label = f"({human_count(here.files)} files here)"
            rows.append(Row("files", label, here.allocated_bytes, here.files, "files"))
        return rows
    for item in listing.files:
        rows.append(
            Row(
                f"f:{item.name}",
                item.name,
                item.allocated_bytes,
                None,
                "file",
                apparent=item.apparent_bytes,
            )
        )
    if listing.more_files:
        label = f"(… {human_count(listing.more_files)} more files)"
        rows.append(Row("more", label, listing.more_allocated_bytes, listing.more_files, "more"))
    return rows


def sort_rows(rows: list[Row], how: str) -> list[Row]:
    fixed = [r for r in rows if r.kind in ("files", "more")]  # summaries stay at the end
    movable = [r for r in rows if r.kind not in ("files", "more")]
    if how == "name":
        movable.sort(key=lambda r: r.name.lower())
    elif how == "files":
        movable.sort(key=lambda r: (-(r.files or 0), r.name))
    else:
        movable.sort(key=lambda r: (-r.allocated, r.name))
    return movable + fixed


def level_totals(report: UsageReport, level: Level) -> Totals:
    if level is None:
        return report.scan.totals
    return report.scan.tree.totals(*level)


def level_path(report: UsageReport, level: Level) -> str:
    if level is None:
        return report.scan.data_dir
    root, rel = level
    unit = next((u for u in report.scan.units if u.root == root and u.rel == ""), None)
    if root != 0 and unit is not None:  # a followed tree: shown by its name in the data dir
        return report.scan.tree.path(root, rel) if rel else unit.path
    return report.scan.tree.path(root, rel)


def verdict_line(report: UsageReport) -> Text:
    text = severity_text(report.verdict)
    text.append(f"  {report.verdict_words}", style="")
    # The words are the headroom's; when something else (unreadable entries, a nested
    # mount) sets the verdict, say where to look, or "WARNING ... 80 GiB free" puzzles.
    if report.verdict.rank > max((h.severity.rank for h in report.headroom), default=-1):
        alarms = sum(f.severity is report.verdict for f in report.findings)
        text.append(f"  ({alarms} finding{'' if alarms == 1 else 's'} below)", style="dim")
    return text


def scan_line(report: UsageReport, now: float) -> Text:
    scan = report.scan
    kind = "Quick rescan" if scan.quick else "Full scan"
    text = Text(f"{kind} {stamp(scan.finished_at)} ", style="bold")
    text.append(f"({human_age(now - scan.finished_at)})", style="dim")
    text.append(f"  {human_bytes(scan.totals.allocated_bytes)} on disk, ")
    text.append(f"{human_count(scan.totals.files)} files")
    if scan.quick:
        text.append(
            f"\n≈ {human_count(scan.reused_dirs)}/{human_count(scan.totals.dirs)} directories "
            f"unchanged since {stamp(scan.full_scan_at)} (s: full scan)",
            style="yellow",
        )
    elif scan.fallback:
        text.append(f"\n(asked for a quick rescan, but {scan.fallback})", style="dim")
    return text


def progress_line(progress: UsageProgress) -> Text:
    what = "Quick rescan" if progress.quick else "Scanning"
    text = Text(f"{what}…", style="bold")
    text.append(f" {progress_words(progress)}")
    text.append("  (c cancels)", style="dim")
    return text


def volumes_text(report: UsageReport) -> Text:
    text = Text()
    for index, (volume, headroom) in enumerate(zip(report.volumes, report.headroom, strict=True)):
        if index:
            text.append("\n")
        text.append(volume.device or volume.mount_point, style="bold")
        if volume.total_bytes is None:
            text.append(f"  not measured: {volume.error}", style="magenta")
            continue
        text.append(
            f"  {human_bytes(volume.free_bytes or 0)} free of {human_bytes(volume.total_bytes)}"
        )
        if volume.free_inodes is not None:
            text.append(f", {human_count(volume.free_inodes)} inodes free", style="dim")
        if len(report.volumes) > 1:
            text.append(f"  ({', '.join(volume.holds)}: {headroom.severity.label})", style="dim")
    return text


QUIET_CODES = {"usage.quick_rescan"}  # the scan line says it already


def findings_text(report: UsageReport, limit: int = 2) -> Text:
    shown = sorted(
        (f for f in report.findings if f.code not in QUIET_CODES), key=lambda f: -f.severity.rank
    )
    text = Text()
    if not any(f.severity.rank > Severity.INFO.rank for f in shown):
        text.append("✓ No usage problems found.", style="green")
    for finding in shown[:limit]:
        if text:
            text.append("\n")
        # Without the path: each message names its place, and lines are few at 24 rows.
        text.append_text(finding_text(replace(finding, path=None)))
    if len(shown) > limit:
        text.append(f"\n(+{len(shown) - limit} more: omero-tui usage lists them all)", style="dim")
    return text


def growth_words(report: UsageReport, name: str) -> str:
    """What a row gained lately: from past scans when they span a week, else file dates."""
    since = report.now - WINDOW_DAYS * DAY
    points = [(p.at, p.units[name]) for p in report.history if p.at >= since and name in p.units]
    if len(points) > 1 and points[-1][0] - points[0][0] >= MIN_HISTORY_SPAN_DAYS * DAY:
        days = (points[-1][0] - points[0][0]) / DAY
        change = points[-1][1] - points[0][1]
        sign = "+" if change >= 0 else "-"
        return f"{sign}{human_bytes(abs(change))} over the last {days:.0f} days of scans"
    growth = report.scan.growth
    by_day = growth.by_mtime.get(name, {})
    if name == growth.managed_unit and growth.managed_by_import:
        by_day = growth.managed_by_import  # an in-place import keeps its old mtimes
    first = int(report.now // DAY) - WINDOW_DAYS
    gained = sum(b for d, b in by_day.items() if d >= first)
    return f"+{human_bytes(gained)} by file date in the last {WINDOW_DAYS} days"


def detail_text(report: UsageReport, level: Level, row: Row | None) -> Text:
    if row is None:
        return Text()
    scan: UsageScan = report.scan
    base = level_path(report, level)
    text = Text()
    if row.kind in ("file", "files", "more"):
        text.append(f"{base}/{row.name}" if row.kind == "file" else base, style="bold")
        text.append(f"\n{human_bytes(row.allocated)} on disk")
        if row.kind == "file":
            sparse = " (sparse)" if row.apparent > row.allocated + 65536 else ""
            text.append(f", {human_bytes(row.apparent)} apparent{sparse}")
        return text
    assert row.target is not None
    totals = scan.tree.totals(*row.target)
    if row.kind == "unit":
        unit = scan.unit(row.key[2:])
        assert unit is not None
        text.append(unit.path, style="bold")
        if unit.target:
            text.append(f" → {unit.target}")
        text.append(f"  ({unit.kind})" if unit.kind != "directory" else "", style="dim")
        text.append(f"\n{growth_words(report, unit.name)}")
    else:
        text.append(scan.tree.path(*row.target), style="bold")
    text.append(
        f"\n{human_bytes(totals.apparent_bytes)} apparent, {human_count(totals.files)} files, "
        f"{human_count(totals.dirs)} dirs"
    )
    if totals.errors:
        text.append(f", {human_count(totals.errors)} unreadable", style="yellow")
    return text


def trend_of(series: list[int]) -> str:
    """A sparkline once there are two scans to compare; nothing before."""
    return sparkline(series) if len(series) > 1 else ""


def trend_series(report: UsageReport, row: Row | None) -> tuple[list[float], str]:
    """What the trend sparkline draws for a row: its size over past scans, or, with fewer
    than two scans on record, the bytes its files added month by month (the scan's own)."""
    if row is None or row.kind != "unit":
        return [], ""
    name = row.key[2:]
    series = unit_series(report.history, name)
    if len(series) > 1:
        tail = series[-60:]
        return [float(v) for v in tail], (
            f"size over {len(tail)} scans: {human_bytes(tail[0])} → {human_bytes(tail[-1])}"
        )
    growth = report.scan.growth
    days = growth.by_mtime.get(name, {})
    if name == growth.managed_unit and growth.managed_by_import:
        days = growth.managed_by_import
    months = by_month(days)
    if not months:
        return [], ""
    first, last = min(months), max(months)
    year, month = (int(part) for part in last.split("-"))
    keys = []  # the last 12 calendar months up to the newest, gaps included
    for _ in range(12):
        keys.insert(0, f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys = [k for k in keys if k >= first]
    return [float(months.get(k, 0)) for k in keys], f"bytes added by month, {keys[0]} to {last}"
