"""Lock health: can the server's file locks be trusted where the repository lives?

It judges the filesystem type and mount options, an active two-process lock probe, the
dismounted-share trap, OMERO's own lock files and the lock symptoms in the server's logs.
Open ``health`` first (it builds the report), then ``probe`` and ``fs``.
"""
