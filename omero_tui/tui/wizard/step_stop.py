"""Step 5: the server is stopped, and the stop is proven (status, processes, open files)."""

from __future__ import annotations

from omero_tui.tui.wizard.step_page import StepLogPage


class StopPage(StepLogPage):
    STEP = "stop"
    STATUS = {
        None: ("Waiting to stop the server", "dim"),
        "started": ("Stopping the server and proving it stopped…", "cyan"),
        "done": ("✓ The server is stopped, and nothing holds the files", "green"),
        "failed": ("✗ The server could not be proven stopped", "bold red"),
    }
    NOTE = (
        "Proof means: the controller reports stopped, no process of the server dir is "
        "alive, and no process has a file open under the source."
    )
