"""Words and marks shared by every panel, so severities look the same everywhere."""

from __future__ import annotations

import textwrap

from rich.text import Text

from omero_tui.core.findings import Finding, Severity

SEVERITY_MARK: dict[Severity, tuple[str, str]] = {
    Severity.OK: ("✓", "green"),
    Severity.INFO: ("i", "cyan"),
    Severity.WARNING: ("!", "yellow"),
    Severity.UNKNOWN: ("?", "magenta"),
    Severity.CRITICAL: ("✗", "bold red"),
}

STATE_STYLE: dict[str, str] = {
    "present": "green",
    "mount point": "cyan",
    "symlink": "cyan",
    "missing": "yellow",
    "not a directory": "red",
    "unreadable": "red",
    "broken symlink": "bold red",
}


def severity_text(severity: Severity) -> Text:
    mark, style = SEVERITY_MARK[severity]
    return Text(f"{mark} {severity.label.upper()}", style=style)


def finding_text(finding: Finding) -> Text:
    mark, style = SEVERITY_MARK[finding.severity]
    text = Text(f"{mark} ", style=style)
    text.append(finding.message)
    if finding.path:
        text.append(f"\n    {finding.path}", style="dim")
    return text


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, ""))


def wrap_words(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken only between words: a path or
    a command is never cut, and one longer than ``width`` keeps a whole line of its own."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
