"""Health: every area in one pass, as ``omero-tui check`` and the Overview show it.

It judges nothing of its own: it runs each area's check and keeps the worst verdict.
Open ``check`` first, then ``areas`` (one function per area), ``cache`` and ``prometheus``.
"""
