"""Writing config.xml safely: OMERO's lock protocol, its holder, backups, atomic replace.

OMERO takes an exclusive non-blocking ``flock`` on ``config.xml.lock`` (opened "a+")
and deletes that file when done. We take the same lock, so neither ``omero config`` nor
``omero admin start`` can interleave with our read-modify-write.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import count
from pathlib import Path

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import TextIO

    import psutil

# portalocker and psutil are imported where used: reading config.xml (what discovery
# does on the console's way to its first frame) never needs them.

_RETRY_SLEEP = 0.05
_MAX_COMMAND = 80


class LockTimeout(Exception):
    """The lock stayed held for the whole retry window."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(holder or "unknown holder")
        self.holder = holder


@contextmanager
def exclusive_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold OMERO's lock for the duration of the block.

    Raises LockTimeout after ``timeout`` seconds, OSError if the lock file cannot be
    opened or locked at all.
    """
    handle = _acquire(lock_path, time.monotonic() + timeout)
    try:
        yield
    finally:
        # Unlink before releasing: whoever waits on this inode then sees it is gone and
        # locks a fresh file, instead of two writers each holding "the" lock.
        with suppress(OSError):
            os.unlink(lock_path)
        handle.close()


def _acquire(lock_path: Path, deadline: float) -> TextIO:
    import portalocker

    while True:
        handle = open(lock_path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            portalocker.lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except portalocker.AlreadyLocked:
            handle.close()
            if time.monotonic() >= deadline:
                raise LockTimeout(lock_holder(lock_path)) from None
            time.sleep(_RETRY_SLEEP)
            continue
        except portalocker.LockException as err:
            handle.close()
            raise OSError(errno.ENOLCK, f"cannot lock it ({err})", str(lock_path)) from None
        if _still_linked(handle, lock_path):
            return handle
        # The previous holder deleted the file while we waited on it: lock the new one.
        handle.close()


def _still_linked(handle: TextIO, lock_path: Path) -> bool:
    try:
        on_disk = os.stat(lock_path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def lock_holder(lock_path: Path) -> str | None:
    """Describe the process holding the flock on ``lock_path``, without taking it.

    Linux only (``/proc/locks``); None when the holder cannot be told.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        st = os.stat(lock_path)
        pid = _flock_owner(Path("/proc/locks").read_text(), st.st_dev, st.st_ino)
    except OSError:
        return None
    return None if pid is None else describe_process(pid)


def _flock_owner(proc_locks: str, dev: int, ino: int) -> int | None:
    """The pid holding a lock on (dev, ino) according to a ``/proc/locks`` text."""
    wanted = (os.major(dev), os.minor(dev), ino)
    for line in proc_locks.splitlines():
        fields = line.split()
        # Waiters are listed as "N: -> FLOCK ..."; only holders interest us.
        if len(fields) < 6 or fields[1] == "->":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            found = (int(major, 16), int(minor, 16), int(inode))
            pid = int(fields[4])
        except ValueError:
            continue
        if found == wanted and pid > 0:  # -1/0: open-file-description lock or other pidns
            return pid
    return None


def describe_process(pid: int) -> str:
    """``pid 4242 omero admin start (user omero)``, with whatever psutil may see."""
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            command = _command(proc)
            user = _username(proc)
    except psutil.Error:
        return f"pid {pid}"
    text = f"pid {pid} {command}" if command else f"pid {pid}"
    return f"{text} (user {user})" if user else text


def _command(proc: psutil.Process) -> str:
    import psutil

    try:
        return short_command(proc.cmdline()) or proc.name()
    except psutil.AccessDenied:
        with suppress(psutil.Error):
            return proc.name()
    return ""


def _username(proc: psutil.Process) -> str | None:
    import psutil

    try:
        return proc.username()
    except (psutil.Error, KeyError):  # KeyError: uid without a passwd entry
        return None


def short_command(argv: Sequence[str]) -> str:
    """``/venv/bin/python /venv/bin/omero admin start`` -> ``omero admin start``."""
    args = list(argv)
    # The interpreter says nothing when it runs a script; keep it for "python -c".
    if len(args) > 1 and Path(args[0]).name.startswith("python") and args[1][:1] != "-":
        args = args[1:]
    if not args:
        return ""
    args[0] = Path(args[0]).name
    text = " ".join(" ".join(args).split())  # one line, whatever the arguments hold
    return text if len(text) <= _MAX_COMMAND else text[: _MAX_COMMAND - 3] + "..."


KEEP_BACKUPS = 20


def backup(path: Path, keep: int = KEEP_BACKUPS) -> Path:
    """Copy ``path`` to ``<name>.bak-<UTC stamp>`` with its metadata, all or nothing.

    Only the newest ``keep`` backups are kept: an admin scripting ``config set`` in a
    loop must not fill ``etc/grid`` with copies.
    """
    import shutil  # here, not at the top: reading config.xml needs none of them
    import tempfile
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.bak-", dir=path.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        shutil.copy2(path, temp)
        _copy_owner(path, temp)
        _fsync(temp)
        made = _claim(temp, path.with_name(f"{path.name}.bak-{stamp}"))
    finally:
        with suppress(FileNotFoundError):
            temp.unlink()
    _prune_backups(path, keep)
    return made


def _prune_backups(path: Path, keep: int) -> None:
    pattern = re.compile(re.escape(path.name) + r"\.bak-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?")
    found = [(m, p) for p in path.parent.iterdir() if (m := pattern.fullmatch(p.name))]
    found.sort(key=lambda item: (item[0]["stamp"], int(item[0]["n"] or 1)))
    for _, old in found[: max(0, len(found) - keep)]:
        with suppress(OSError):
            old.unlink()


def _claim(temp: Path, base: Path) -> Path:
    """Give ``temp`` the first free name of base, base-2, base-3...; never overwrite."""
    for n in count(1):
        target = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            os.link(temp, target)  # fails if taken, unlike rename
        except FileExistsError:
            continue
        except OSError:
            if target.exists():  # no hard links here (some SMB/FUSE mounts)
                continue
            os.rename(temp, target)  # we hold the lock: no other writer races us
        return target
    raise AssertionError("unreachable")


def replace_file(path: Path, data: bytes, like: Path | None) -> None:
    temp = path.with_name(path.name + ".temp")  # OMERO's own temp name
    with suppress(FileNotFoundError):
        temp.unlink()  # left by a crashed writer; never write through a planted symlink
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with open(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if like is not None:  # the server account must keep the access it had
            _copy_owner(like, temp)
            import shutil

            shutil.copymode(like, temp)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise
    _fsync(path.parent)


def _copy_owner(source: Path, target: Path) -> None:
    st = source.stat()
    with suppress(PermissionError):  # only root may give files away; best effort
        os.chown(target, st.st_uid, st.st_gid)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
