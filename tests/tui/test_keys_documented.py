"""Every key of every panel and of the wizard is in the README's key list and in the
help of its screen (#14, item 9: `e` and `D` were missing once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from omero_tui.tui.app import OmeroTuiApp
from omero_tui.tui.help_text import help_for
from omero_tui.tui.panels import PANELS, panel_class
from omero_tui.tui.wizard.wizard_screen import RelocationWizard

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
# How a key is written in the docs, where its Textual name differs.
WRITTEN = {
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "backspace": "Backspace",
    "f1": "F1",
}


def keys_of(bindings: list[Binding]) -> list[str]:
    # Number keys are listed once as `1`…`6`; f1 beside `?`.
    return [WRITTEN.get(b.key, b.key) for b in bindings if not b.key.isdigit() and b.key != "f1"]


def in_docs(key: str, text: str) -> bool:
    return f"`{key}`" in text or f"`{key} " in text or f"`{key}/" in text


@pytest.mark.parametrize("tab", [p[0] for p in PANELS])
def test_each_panel_key_is_in_the_readme_and_in_its_help(tab: str) -> None:
    for key in keys_of(panel_class(tab).__dict__.get("BINDINGS", [])):  # its own, not scrolling
        assert in_docs(key, README), f"{tab}: `{key}` not in the README's key list"
        assert in_docs(key, help_for(tab)) or key == "Enter", f"{tab}: `{key}` not in its help"


def test_each_wizard_and_app_key_is_in_the_readme() -> None:
    for key in keys_of(RelocationWizard.BINDINGS):
        assert in_docs(key, README), f"wizard: `{key}` not in the README"
        assert in_docs(key, help_for("wizard")), f"wizard: `{key}` not in its help"
    for key in keys_of(OmeroTuiApp.BINDINGS):
        assert in_docs(key, README), f"`{key}` not in the README"
