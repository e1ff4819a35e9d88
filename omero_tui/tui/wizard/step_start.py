"""Step 8: the server started on the new location, and OMERO's own word that it noticed."""

from __future__ import annotations

from omero_tui.tui.wizard.step_page import StepLogPage


class StartPage(StepLogPage):
    STEP = "start"
    STATUS = {
        None: ("Waiting for the configuration", "dim"),
        "started": ("Starting the server and waiting for it to be up…", "cyan"),
        "done": ("✓ The server is running on the new location", "green"),
        "skipped": ("– The server was not running before: left stopped", "dim"),
        "failed": ("✗ The server did not start cleanly", "bold red"),
    }
    NOTE = (
        'OMERO logs "Data directory moved: OLD updated to NEW" in Blitz-0.log when it '
        "sees a moved repository; the line is quoted above when it is found."
    )
