from omero_tui.cli import run

run()
