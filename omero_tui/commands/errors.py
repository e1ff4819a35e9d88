"""The one error every headless command raises to refuse: one line on stderr, no traceback."""

from __future__ import annotations


class CliError(Exception):
    """A refusal: printed as one line on stderr, exit code 1 (3 for monitoring commands)."""
