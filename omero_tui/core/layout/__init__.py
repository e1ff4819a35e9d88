"""Layout: what is where in the repository, what is missing and what is misplaced.

It judges the configured paths, the subdirectories, the hidden ``.omero`` identity and
what the repository must not be (the server install, a client, PostgreSQL's data).
Open ``inspection`` first (it builds the report), then ``findings``.
"""
