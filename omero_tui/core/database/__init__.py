"""The repository against OMERO's own PostgreSQL database, read-only.

See SCHEMA_NOTES.md beside this file for the schema facts this package relies on and
where each was confirmed. psycopg is imported only inside ``connection`` and only when
a connection is made, so the console starts as fast without a database.
"""
