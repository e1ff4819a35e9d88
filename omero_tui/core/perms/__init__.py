"""Permissions: can the server's user read, write and traverse all of its repository?

It judges effective access (modes, ACLs, capabilities, Windows ``icacls``) for the user
the server runs as, and plans the fewest exact commands that fix it, with an undo.
Open ``check`` first, then ``access`` (the kernel's rules), ``fix`` and ``apply``/``undo``.
"""
