"""Replace a small file whole: a temp file beside it, fsync, rename.

A reader, a crash or a power cut then sees the old file or the new one, never half of
one. A file the console can rebuild (the scan cache) may skip the fsync, which on a
busy disk costs more than the scan it saves: after a power cut it is then the old
file, the new one or an empty one, and its reader ignores any it cannot load.
(config.xml has its own writer in ``config_lock``: OMERO's temp name, its owner kept,
under OMERO's lock.)
"""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from collections.abc import Sequence


def write_atomic(
    path: Path,
    data: bytes | Sequence[bytes | memoryview],
    *,
    mode: int | None = None,
    durable: bool = True,
) -> None:
    """Write ``data`` (bytes, or parts one after another) to ``path`` atomically;
    ``mode`` sets its permission bits; ``durable=False`` skips the fsync (for files
    that are only a cache)."""
    path = Path(path)
    # mkstemp's way (a fresh name, O_EXCL, 0600) without importing tempfile, which
    # brings random, shutil and the compression modules into every headless command.
    for _ in range(100):
        temp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                out.writelines(data)  # large parts go straight through, not copied
            out.flush()
            if durable:
                os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
