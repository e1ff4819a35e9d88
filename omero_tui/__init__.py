"""omero-tui: a terminal console for the OMERO.server binary repository."""

__version__ = "0.1.0"
