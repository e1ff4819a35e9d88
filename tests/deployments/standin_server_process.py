"""A stand-in for a running OMERO server process (Ice and Java cannot run in tests).

Started with an argv that looks like icegridnode's or Blitz-0's (argv[0] and the
arguments are chosen by the test) and the server dir as its cwd. It takes a POSIX
record lock (as Java's FileChannel.lock does) on every path given after ``--lock``,
keeps them open, prints "ready", and exits when its stdin closes or on SIGTERM.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys


def main(argv: list[str]) -> int:
    paths = argv[argv.index("--lock") + 1 :] if "--lock" in argv else []
    held = []
    for path in paths:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.append(fd)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    sys.stdin.read()  # the test closes our stdin to stop us
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
