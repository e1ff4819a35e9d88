"""Words shared by the run pages: step events as a log, progress as one line."""

from __future__ import annotations

from rich.text import Text

from omero_tui.core.relocation.engine_context import StepEvent
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.usage.format import human_bytes

EVENT_MARKS = {
    "started": ("▶", "cyan"),
    "done": ("✓", "green"),
    "skipped": ("–", "dim"),
    "failed": ("✗", "bold red"),
    "info": ("·", ""),
}


def event_log(events: list[StepEvent]) -> Text:
    """One line per step (its latest state) plus the details it reported on the way."""
    lines: list[list[str]] = []  # [step, state, message]
    open_line: dict[str, int] = {}
    for event in events:
        index = open_line.get(event.step)
        if event.state != "info" and index is not None and lines[index][1] == "started":
            message = lines[index][2]
            if event.state == "failed":
                message = f"{message}: {event.message}"
            lines[index] = [event.step, event.state, message]
            continue
        if event.state == "started":
            open_line[event.step] = len(lines)
        lines.append([event.step, event.state, event.message])
    text = Text()
    for _step, state, message in lines:
        mark, style = EVENT_MARKS.get(state, ("·", ""))
        if text:
            text.append("\n")
        text.append(f"{mark} ", style=style)
        indent = "  " if state == "info" else ""
        text.append(indent + message, style=style if state == "failed" else "")
    return text


def human_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA unknown"
    seconds = int(seconds)
    if seconds < 60:
        return f"ETA {seconds} s"
    if seconds < 3600:
        return f"ETA {seconds // 60} min {seconds % 60:02d} s"
    return f"ETA {seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_line(progress: Progress) -> str:
    parts = []
    if progress.bytes_total:
        parts.append(f"{human_bytes(progress.bytes_done)} of {human_bytes(progress.bytes_total)}")
    if progress.files_total:
        parts.append(f"{progress.files_done:,} of {progress.files_total:,} files")
    elif progress.files_done:
        parts.append(f"{progress.files_done:,} files")
    if progress.rate:
        parts.append(f"{human_bytes(progress.rate)}/s")
    if progress.bytes_total or progress.files_total:
        parts.append(human_eta(progress.eta_s))
    return " · ".join(parts) or progress.message
