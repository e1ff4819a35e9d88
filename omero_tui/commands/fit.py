"""Headless text that fits an 80-column terminal: wrapped at word boundaries, never mid-path.

A line too long is wrapped with a hanging indent under its text (after a label such as
``Managed dir  `` or ``CRITICAL: ``), so the continuation reads as part of the same
entry. A single word longer than the room left (a long path) is kept whole: it may
overflow, it is never broken.
"""

from __future__ import annotations

import re

from omero_tui.core.findings import Severity

WIDTH = 80

# "Label   value": text starts after a run of two or more spaces in the left half.
_LABEL_GAP = re.compile(r"\S {2,}(?=\S)")
# "CRITICAL: message", "[step] state: message", "2. stop: what", "- item".
_WORD_PREFIX = re.compile(r"^(\s*(?:\[[^\]]+\] |\d+\. |- )?(?:[A-Za-z][A-Za-z ()-]{1,24}: )?)")


def hang_of(line: str, width: int = WIDTH) -> int:
    """The column continuation lines start at."""
    lead = len(line) - len(line.lstrip(" "))
    hang = lead
    for gap in _LABEL_GAP.finditer(line):
        if gap.end() > width // 2:
            break
        hang = gap.end()
    prefix = _WORD_PREFIX.match(line)
    if hang == lead and prefix and lead < len(prefix.group(1)) <= width // 3:
        hang = len(prefix.group(1))
    return hang if hang <= width // 2 else lead + 2


def fit_line(line: str, width: int = WIDTH) -> list[str]:
    """Greedy word wrap under the line's label; a word too long for the room left stays
    whole, and a label is never left alone on its line."""
    if len(line) <= width:
        return [line]
    hang = hang_of(line, width)
    lines: list[str] = []
    current = line[:hang]
    for word in line[hang:].split(" "):
        if len(current) == hang:  # the first word after the label or indent: always here
            current += word
        elif word and len(current) + 1 + len(word) > width:
            lines.append(current.rstrip())
            current = " " * hang + word
        else:
            current += " " + word  # an empty word keeps a double space as it was
    lines.append(current.rstrip())
    return lines


def fit(text: str, width: int = WIDTH) -> str:
    """Every line of ``text`` wrapped to ``width`` columns at word boundaries."""
    return "\n".join(part for line in text.split("\n") for part in fit_line(line, width))


def level_word(severity: Severity) -> str:
    """One of the documented monitoring levels: INFO is OK to monitoring (exit 0)."""
    return "OK" if severity in (Severity.OK, Severity.INFO) else severity.label.upper()
