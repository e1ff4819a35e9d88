"""The real ``omero-tui`` CLI, with a witness for every process it would start.

``python -m tests.faults.audited_cli --marker FILE -- ARGS...`` runs
``omero_tui.cli.main(ARGS)`` unchanged, after installing a Python audit hook that
appends one line to FILE for each attempt to create a process (``subprocess.Popen``,
``os.system``, ``os.exec*``, ``os.posix_spawn``, ``os.spawn*``, ``os.fork``,
``pty.spawn``). An empty FILE afterwards proves nothing was executed from this
process, whatever PATH holds; the tripwires on PATH catch what could slip past.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

SPAWNING = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
            "os.fork", "os.forkpty", "pty.spawn")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(prog="audited_cli")
    parser.add_argument("--marker", required=True)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    fd = os.open(opts.marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def hook(event: str, details: tuple[Any, ...]) -> None:
        if event.startswith(SPAWNING):
            os.write(fd, f"{event} {details!r:.300}\n".encode())

    sys.addaudithook(hook)
    from omero_tui.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
