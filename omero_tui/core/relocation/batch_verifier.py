"""The second half of the copy: make each batch durable, prove it equal, then record it.

Batches go to a verifier process (``verify_child``) while the copier goes on with the
next files, so the byte comparison runs on the second core. A batch is handed to
``on_commit`` (the journal) only after the verifier synced it (``syncfs``) and found
every entry equal to its source, and strictly in order, so a journal record never
claims more than the disk holds.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from omero_tui.core.record import field, frozen, mutable
from omero_tui.core.relocation.tree_scan import Entry

CHILD_MODULE = "omero_tui.core.relocation.verify_child"
IN_FLIGHT = 2  # batches handed over and not yet answered


@mutable
class Batch:
    first: int  # index of the first entry in the scan
    upto: int = 0  # index after the last entry
    entries: list[tuple[str, Entry]] = field(default_factory=list)  # (destination path, entry)
    data_bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def last(self) -> str:
        return self.entries[-1][1].rel if self.entries else ""


@frozen
class Committed:
    upto: int
    last: str
    entries: int
    data_bytes: int


class VerificationError(Exception):
    """A copied entry is not what its source is, or could not be checked; one line."""


class BatchVerifier:
    def __init__(
        self,
        source_root: str,
        target_root: str,
        on_commit: Callable[[Committed], None],
    ) -> None:
        self.source_root = source_root
        self.target_root = target_root
        self.on_commit = on_commit
        self.error: BaseException | None = None
        self.verified_entries = 0
        self.verified_bytes = 0
        self._pending: dict[int, Batch] = {}
        self._slots = threading.Semaphore(IN_FLIGHT)
        self._next = 0
        self._child = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE, source_root, target_root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            close_fds=True,
        )
        self._reader = threading.Thread(target=self._read, name="relocation-verify", daemon=True)
        self._reader.start()

    def submit(self, batch: Batch) -> None:
        while not self._slots.acquire(timeout=0.2):
            self._raise_if_failed()
        self._raise_if_failed()
        number = self._next
        self._next += 1
        self._pending[number] = batch
        items = [self._item(dst, entry) for dst, entry in batch.entries]
        line = json.dumps({"batch": number, "items": items}) + "\n"
        try:
            assert self._child.stdin is not None
            self._child.stdin.write(line)
            self._child.stdin.flush()
        except OSError:
            self._raise_if_failed()
            raise VerificationError("the verifier process stopped unexpectedly") from None

    def close(self) -> None:
        """Wait for every answer, stop the process; re-raise the first problem."""
        if self._child.stdin is not None:
            with contextlib.suppress(OSError):
                self._child.stdin.close()
        self._reader.join()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        if self._child.stderr is not None:
            self._child.stderr.close()
        self._raise_if_failed()

    def abort(self) -> None:
        """Stop at once (the copy failed): answers still pending are not recorded."""
        self._child.kill()
        self._child.wait()
        self._reader.join()
        for stream in (self._child.stdin, self._child.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def _item(self, dst: str, entry: Entry) -> list:
        """What the verifier needs, as short as it can be (50,000 of these per batch)."""
        return [entry.kind, entry.rel, entry.size, entry.sparse, entry.link]

    def _read(self) -> None:
        assert self._child.stdout is not None
        try:
            for line in self._child.stdout:
                answer = json.loads(line)
                batch = self._pending.pop(answer["batch"])
                if not answer["ok"]:
                    raise VerificationError(f"verification failed: {answer['error']}")
                self.verified_entries += len(batch.entries)
                self.verified_bytes += batch.data_bytes
                self.on_commit(
                    Committed(batch.upto, batch.last, len(batch.entries), batch.data_bytes)
                )
                self._slots.release()
            if self._pending and self.error is None:
                why = self._child.stderr.read().strip().splitlines() if self._child.stderr else []
                detail = why[-1] if why else f"exit code {self._child.wait()}"
                raise VerificationError(f"the verifier process stopped: {detail}")
        except BaseException as err:  # noqa: BLE001 - handed to the copier
            if self.error is None:
                self.error = err
            self._slots.release()
        finally:
            self._child.stdout.close()
