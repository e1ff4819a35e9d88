"""Rewrite the ``config set`` lines of ``.omero`` files along with config.xml, and undo it.

Like config.xml: the original bytes go into the journal before anything is written, a
backup (``NAME.bak-<stamp>``, which no ``*.omero`` glob loads) is kept beside the file,
the new file replaces the old one atomically with its owner and mode, and a rollback
puts the original bytes back, unless someone else changed the file since.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from omero_tui.core.config.lock import backup, replace_file
from omero_tui.core.relocation.journal import decode_bytes, encode_bytes
from omero_tui.core.relocation.source_checks import SourceChange


class SourceRewriteError(Exception):
    """A file that is not as planned; one line, nothing written to it."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paths_of(changes: Iterable[SourceChange]) -> list[str]:
    return sorted({c.path for c in changes})


def originals(changes: Iterable[SourceChange]) -> list[dict[str, str]]:
    """The journal fact recorded before anything is written: each file's bytes."""
    found = []
    for path in paths_of(changes):
        data = Path(path).read_bytes()
        found.append({"path": path, "b64": encode_bytes(data), "sha256": sha256(data)})
    return found


def rewritten(original: bytes, changes: Iterable[SourceChange]) -> bytes:
    """``original`` with each planned line replaced (indentation and line ending kept)."""
    lines = original.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    for change in changes:
        index = change.line - 1
        if not 0 <= index < len(lines) or lines[index].strip() != change.old_text:
            raise SourceRewriteError(
                f"{change.path} line {change.line} is no longer `{change.old_text}`; "
                "nothing written to it"
            )
        old = lines[index]
        body = old.rstrip("\r\n")
        ending = old[len(body) :]
        indent = body[: len(body) - len(body.lstrip())]
        lines[index] = indent + change.new_text + ending
    return "".join(lines).encode("utf-8", "surrogateescape")


def write_changes(
    changes: tuple[SourceChange, ...], before: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Write every planned line; returns the "after" fact. Already written: left as is."""
    after = []
    for record in before:
        path = record["path"]
        original = decode_bytes(record["b64"])
        mine = [c for c in changes if c.path == path]
        wanted = rewritten(original, mine)
        current = Path(path).read_bytes()
        saved = ""
        if current != wanted:
            if current != original:
                raise SourceRewriteError(
                    f"{path} was changed by someone else during the relocation; nothing "
                    "written to it"
                )
            saved = str(backup(Path(path)))
            replace_file(Path(path), wanted, like=Path(path))
        after.append({"path": path, "sha256": sha256(wanted), "backup": saved})
    return after


def restore_changes(before: list[dict[str, str]], after: list[dict[str, str]]) -> list[str]:
    """Put back the original bytes of every file the relocation wrote; returns one line
    per file left alone because someone else changed it after the relocation wrote it."""
    written = {a["path"]: a for a in after}
    kept = []
    for record in before:
        path = record["path"]
        original = decode_bytes(record["b64"])
        try:
            current = Path(path).read_bytes()
        except FileNotFoundError:
            current = None
        done = written.get(path)
        if current == original:
            pass
        elif current is None or (done and sha256(current) == done["sha256"]):
            replace_file(Path(path), original, like=Path(path) if current is not None else None)
        else:
            kept.append(
                f"{path} was changed by someone else after this relocation wrote it: left "
                "as it is; check its repository paths"
            )
            continue
        saved = (done or {}).get("backup")
        if saved:
            with contextlib.suppress(OSError):
                if Path(saved).read_bytes() == original:
                    os.unlink(saved)
    return kept
