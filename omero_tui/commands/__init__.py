"""The headless commands. Nothing here imports Textual (the console is imported lazily)."""
