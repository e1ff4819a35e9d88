"""The relocation journal: every step and copy batch, appended and fsynced before it counts.

Kept twice: in the state dir (``<state>/relocations/<id>.jsonl``, the copy a resume or
rollback reads) and, for a copy, in the target (``.omero-tui-relocation-journal.jsonl``),
so a half-filled target always says what it is and can be recovered even if the
admin's state dir is gone. One JSON object per line; a line torn by a crash is the
last one and is ignored. A record is written only after what it describes is durable.

Record types: ``begin`` (the plan), ``step`` (started/done/failed), ``fact`` (a value
resume or rollback needs: the original config.xml bytes, the target's prior state,
directories made...), ``batch`` (entries before index ``upto`` are copied, synced and
verified), ``end`` (complete, rolled back, aborted, source removed).

One relocation at a time: the engine holds ``<state>/relocation.lock`` (flock) while
it works, and refuses to start while an unfinished journal exists.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from omero_tui.core.config.lock import lock_holder
from omero_tui.core.settings import default_state_dir

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from typing import Any

JOURNAL_VERSION = 1
TARGET_JOURNAL_NAME = ".omero-tui-relocation-journal.jsonl"
RELOCATIONS_DIR = "relocations"
LOCK_NAME = "relocation.lock"


class JournalError(Exception):
    """A journal that cannot be written or read; one line for the admin."""


class RelocationBusy(JournalError):
    """Another relocation holds the lock."""


def relocations_dir(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / RELOCATIONS_DIR


def new_relocation_id() -> str:
    # secrets.token_hex's bytes, without loading secrets (and hashlib) in every `check`.
    from datetime import UTC, datetime  # here: every check reads journals, few write one

    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"


def now_text() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds")


# base64 here, not at the top: every check reads the journals' state (status), and
# only a relocation's config facts are bytes.
def encode_bytes(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    import base64

    return base64.b64decode(text.encode("ascii"))


class Journal:
    """Append-only, fsynced; safe to append from the copier's commit thread too."""

    def __init__(self, state_path: Path, target_path: Path | None = None) -> None:
        self.state_path = Path(state_path)
        self.target_path = target_path
        self._lock = threading.Lock()
        self._records = read_records(self.state_path) if self.state_path.exists() else []
        self._seq = len(self._records)

    @classmethod
    def create(cls, state_dir: Path | None, relocation_id: str) -> Journal:
        folder = relocations_dir(state_dir)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{relocation_id}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        _fsync_dir(folder)
        return cls(path)

    @property
    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            full = {"seq": self._seq, "t": now_text(), **record}
            line = (json.dumps(full, ensure_ascii=True) + "\n").encode("ascii")
            _append_line(self.state_path, line)
            if self.target_path is not None:
                _append_line(self.target_path, line)
            self._records.append(full)
            return full

    def attach_target(self, target_dir: str) -> None:
        """Keep a copy in the target from now on (rewritten whole: a resume may bring one)."""
        path = Path(target_dir) / TARGET_JOURNAL_NAME
        # Creating the file changes the directory's times, which the copy has set (or
        # will set) to the source's: a resume must not undo that.
        times = os.stat(target_dir)
        with self._lock:
            data = b"".join(
                (json.dumps(r, ensure_ascii=True) + "\n").encode("ascii") for r in self._records
            )
            temp = path.with_name(path.name + ".temp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
            os.utime(target_dir, ns=(times.st_atime_ns, times.st_mtime_ns))
            _fsync_dir(path.parent)
            self.target_path = path

    def detach_target(self) -> None:
        """The relocation is over: the target holds the repository and nothing else."""
        with self._lock:
            if self.target_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.target_path.unlink()
                _fsync_dir(self.target_path.parent)
            self.target_path = None


def _append_line(path: Path, line: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise JournalError(f"cannot write the journal {path}: {err.strerror or err}") from None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_records(path: Path) -> list[dict[str, Any]]:
    """All whole records; a torn last line (a crash mid-write) is dropped."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise JournalError(f"cannot read the journal {path}: {err.strerror or err}") from None
    lines = data.split(b"\n")
    records = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            if number >= len(lines) - 1:  # the last line, cut short by a crash
                break
            raise JournalError(f"{path}: line {number} is damaged") from None
        if isinstance(record, dict):
            records.append(record)
    return records


@contextlib.contextmanager
def relocation_lock(state_dir: Path | None = None) -> Iterator[None]:
    """Hold the one-relocation-at-a-time lock; RelocationBusy at once if it is taken."""
    folder = state_dir or default_state_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / LOCK_NAME
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise JournalError(f"cannot lock {path}: {err.strerror or err}") from None
            who = lock_holder(path) or "another process"
            raise RelocationBusy(
                f"another relocation is running ({who}); only one may run at a time"
            ) from None
        _HELD_HERE.add(str(path))
        try:
            yield
        finally:
            _HELD_HERE.discard(str(path))
    finally:
        handle.close()


# Lock files this process holds: the relocation running is then ours, not another one.
_HELD_HERE: set[str] = set()


def lock_is_held(state_dir: Path | None = None) -> bool:
    """Whether another process holds the relocation lock (a relocation runs there)."""
    path = (state_dir or default_state_dir()) / LOCK_NAME
    if not path.exists() or str(path) in _HELD_HERE:
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False
