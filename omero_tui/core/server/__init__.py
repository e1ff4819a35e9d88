"""The server: its running processes, how to stop and start it, and proof that it stopped.

It judges whether the OMERO.server is running, through which controller it is stopped
and started (its own CLI, a systemd unit, the admin's command, or by hand), and that it
came back up. Open ``processes`` first, then ``control`` and ``state``.
"""
