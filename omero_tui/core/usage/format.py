"""Sizes, ages and dates in words, the same in the panel and the headless command."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.usage.model import UsageProgress

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def human_bytes(n: float) -> str:
    """1536 -> "1.5 KiB"; binary units, like du -h and ncdu."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_count(n: int) -> str:
    return f"{n:,}"


def clock_words(seconds: float) -> str:
    """A duration as a clock: "0:42", "12:05", "3:02:10"."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_words(progress: UsageProgress) -> str:
    """ "41% 1,234,567 files, 3.2 TiB, 12,345 files/s, ETA 0:42 (32 in flight)"."""
    parts = []
    if progress.fraction is not None:
        parts.append(f"{progress.fraction:.0%}")
    parts.append(
        f"{human_count(progress.files)} files, {human_bytes(progress.allocated_bytes)}, "
        f"{progress.files_rate:,.0f} files/s"
    )
    eta = progress.eta
    words = " ".join(parts)
    if eta is not None:
        words += f", ETA {clock_words(eta)}"
    else:
        words += f", {clock_words(progress.elapsed)} so far"
    if progress.in_flight:
        words += f" ({progress.in_flight} requests in flight)"
    return words


def text_bar(fraction: float | None, width: int = 24) -> str:
    """[#########...............] for a known fraction, a moving block when unknown."""
    if fraction is None:
        return "[" + "." * width + "]"
    done = int(round(fraction * width))
    return "[" + "#" * done + "." * (width - done) + "]"


def human_age(seconds: float) -> str:
    """How long ago, coarse: "just now", "5 min ago", "3 h ago", "2 days ago"."""
    if seconds < 0:
        return "in the future (check the clock)"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def human_days(days: float) -> str:
    if days >= 36500:
        return "over 100 years"
    if days >= 730:
        return f"~{days / 365:.0f} years"
    if days >= 2:
        return f"~{days:.0f} days"
    return f"~{days * 24:.0f} hours"


def stamp(epoch: float) -> str:
    """UTC, to the minute: the same on every machine (and in every snapshot)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def day_to_date(day: int) -> date:
    return date.fromordinal(day + _EPOCH_ORDINAL)


def date_to_day(when: date) -> int:
    return when.toordinal() - _EPOCH_ORDINAL


def by_month(days: Mapping[int, int]) -> dict[str, int]:
    """Bytes by day since the epoch -> bytes by "YYYY-MM", in date order."""
    months: dict[str, int] = {}
    key, end = "", None  # the month being summed, and the day its next one starts
    for day in sorted(days):
        if end is None or day >= end:  # a date and its name once a month, not once a day
            when = day_to_date(day)
            key = when.strftime("%Y-%m")
            end = _next_month(when)
        months[key] = months.get(key, 0) + days[day]
    return months


def _next_month(when: date) -> int | None:
    """The day the month after ``when``'s starts; None after the last month dates have."""
    if when.month < 12:
        return date_to_day(date(when.year, when.month + 1, 1))
    if when.year < 9999:
        return date_to_day(date(when.year + 1, 1, 1))
    return None


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int] | list[float], width: int = 10) -> str:
    """A text sparkline of the last ``width`` values, scaled between their min and max."""
    tail = list(values)[-width:]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    if high == low:
        return SPARK[0] * len(tail)
    return "".join(SPARK[int((v - low) / (high - low) * (len(SPARK) - 1))] for v in tail)
