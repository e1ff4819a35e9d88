"""The repository's standard subdirectories: a module of its own, so the usage scan
(which orders its rows by them) loads no more of the layout area than this."""

from __future__ import annotations

# The standard subdirectories and what each holds, in the order OMERO documents them.
STANDARD_SUBDIRS: tuple[tuple[str, str], ...] = (
    ("Pixels", "pixel data and pyramids"),
    ("Files", "original files and attachments"),
    ("Thumbnails", "thumbnails"),
    ("FullText", "Lucene full-text search index"),
    ("ManagedRepository", "imported filesets and import logs (OMERO.fs)"),
    ("BioFormatsCache", "Bio-Formats memo files (a cache)"),
)
