"""How the demo sandbox writes its files: fixed contents and mtimes on a fixed calendar.

Everything comes from the seed's random generator, and every time from the calendar
below, so two builds at the same root are identical down to the directory mtimes.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

INSTALLED = datetime(2025, 5, 20, 9, 30, tzinfo=UTC)
FIRST_IMPORT = datetime(2025, 6, 2, tzinfo=UTC)
LAST_IMPORT = datetime(2026, 11, 22, tzinfo=UTC)  # imports end 2026-11-22 19:59
LAST_START = datetime(2026, 11, 20, 10, 15, 2, 123000, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BIG = 1 << 20  # MiB: the few sparse files that make the sizes interesting


class TreeWriter:
    """Writes files with fixed contents and mtimes; remembers made dirs (speed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._dirs: set[Path] = set()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moments(self, count: int) -> list[datetime]:
        """Sorted times over the demo's history, denser lately (a growing facility)."""
        days = (LAST_IMPORT - FIRST_IMPORT).days
        r = self.rng
        return sorted(
            FIRST_IMPORT
            + timedelta(
                days=int(days * math.sqrt(r.random())),
                hours=r.randint(7, 19),
                minutes=r.randrange(60),
                seconds=r.randrange(60),
                milliseconds=r.randrange(1000),
            )
            for _ in range(count)
        )

    def write(self, path: Path, data: bytes, when: datetime) -> Path:
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        path.write_bytes(data)
        return self.touch(path, when)

    def text(self, path: Path, text: str, when: datetime) -> Path:
        return self.write(path, text.encode("utf-8"), when)

    def blob(self, path: Path, size: int, when: datetime, magic: bytes = b"") -> Path:
        return self.write(path, (magic + self.rng.randbytes(size))[:size], when)

    def sparse(self, path: Path, size: int, when: datetime, magic: bytes = b"") -> Path:
        """Real data at the start, middle and end, holes between: big but cheap."""
        self.write(path, b"", when)
        with open(path, "r+b") as out:
            for offset in (0, size // 2, size - BIG // 4):
                out.seek(offset)
                out.write((magic + self.rng.randbytes(BIG // 4))[: BIG // 4])
            out.truncate(size)
        return self.touch(path, when)

    @staticmethod
    def touch(path: Path, when: datetime) -> Path:
        ns = (when - _EPOCH) // timedelta(microseconds=1) * 1000
        os.utime(path, ns=(ns, ns), follow_symlinks=False)
        return path

    @staticmethod
    def settle_directories(root: Path) -> None:
        """Each directory gets the newest mtime found inside it, so they are fixed too."""
        for top, _, _ in os.walk(root, topdown=False):
            with os.scandir(top) as it:
                times = [e.stat(follow_symlinks=False).st_mtime_ns for e in it]
            ns = max(times, default=(INSTALLED - _EPOCH) // timedelta(microseconds=1) * 1000)
            os.utime(top, ns=(ns, ns))
