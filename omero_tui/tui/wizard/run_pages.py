"""The pages after Choose, built together once the server is located."""

from __future__ import annotations

from textual.widget import Widget

from omero_tui.tui.wizard.step_config import ConfigPage
from omero_tui.tui.wizard.step_confirm import ConfirmPage
from omero_tui.tui.wizard.step_done import DonePage
from omero_tui.tui.wizard.step_move import MovePage
from omero_tui.tui.wizard.step_plan import PlanPage
from omero_tui.tui.wizard.step_preflight import PreflightPage
from omero_tui.tui.wizard.step_problem import ProblemPage
from omero_tui.tui.wizard.step_start import StartPage
from omero_tui.tui.wizard.step_stop import StopPage

# Pages that redraw from the wizard state whenever the engine reports.
RUN_PAGES = ("stop", "move", "config", "start", "done")


def make_pages() -> list[Widget]:
    return [
        PreflightPage(),
        PlanPage(),
        ConfirmPage(),
        StopPage(),
        MovePage(),
        ConfigPage(),
        StartPage(),
        DonePage(),
        ProblemPage(),
    ]
