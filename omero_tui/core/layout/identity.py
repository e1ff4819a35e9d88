"""The repository's identity: ``.omero/repository/<db-uuid>/repo_uuid``.

The server recognises a repository (and a moved one) only through this hidden file,
so the console reads it, never writes it. OMERO writes the uuid with Java's
``DataOutputStream.writeUTF``: a 2-byte big-endian length, then that many bytes of
*modified* UTF-8 (NUL as ``C0 80``, characters beyond the BMP as two 3-byte
surrogates).
"""

from __future__ import annotations

import os
from pathlib import Path

from omero_tui.core.record import frozen

IDENTITY_DIR = (".omero", "repository")
REPO_UUID_FILE = "repo_uuid"
# writeUTF cannot write more than 65535 bytes; anything beyond is not a repo_uuid file.
MAX_REPO_UUID_BYTES = 2 + 0xFFFF


# The two identity records are part of the layout contract and are re-exported by
# omero_tui.core.layout.inspection; they live here so this module does not import the layout.
@frozen
class IdentityEntry:
    """One ``.omero/repository/<db-uuid>/`` directory."""

    db_uuid: str
    repo_uuid: str | None  # decoded from repo_uuid (Java writeUTF); None if unreadable
    error: str | None  # why repo_uuid could not be read
    lock_files: tuple[str, ...]  # paths of .lock files present (held or stale: not judged here)
    denied: bool = False  # the error is a permission problem of this console's user


@frozen
class RepoIdentity:
    repo_dir: str  # the data dir or the managed dir
    role: str  # "data dir" | "managed dir"
    entries: tuple[IdentityEntry, ...]  # empty: no identity (fresh or wrongly moved repository)
    error: str | None = None  # why .omero/repository could not be listed
    denied: bool = False  # the error is a permission problem of this console's user


def encode_repo_uuid(text: str) -> bytes:
    """The bytes Java's ``writeUTF(text)`` produces."""
    body = bytearray()
    for unit in _utf16_units(text):
        if unit and unit < 0x80:
            body.append(unit)
        elif unit < 0x800:  # NUL lands here on purpose: modified UTF-8 writes C0 80
            body += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            body += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    if len(body) > 0xFFFF:
        raise ValueError(f"encoded text is {len(body)} bytes; writeUTF allows 65535")
    return len(body).to_bytes(2, "big") + bytes(body)


def decode_repo_uuid(data: bytes) -> str:
    """Read what ``writeUTF`` wrote; ValueError for truncated, overlong or malformed data."""
    if len(data) < 2:
        raise ValueError(f"{len(data)} bytes: too short for the 2-byte length prefix")
    length = int.from_bytes(data[:2], "big")
    body = data[2:]
    if len(body) < length:
        raise ValueError(f"truncated: the length prefix says {length} bytes, {len(body)} follow")
    if len(body) > length:
        raise ValueError(f"{len(body) - length} unexpected bytes after the {length}-byte text")
    return _join_surrogates(_modified_utf8_units(body))


def read_identity(repo_dir: str | os.PathLike[str], role: str) -> RepoIdentity:
    """List ``.omero/repository/*/`` under repo_dir; errors become strings, never exceptions."""
    base = Path(repo_dir).joinpath(*IDENTITY_DIR)
    try:
        with os.scandir(base) as it:
            db_dirs = sorted(e.name for e in it if _is_dir(e))
    except FileNotFoundError:
        return RepoIdentity(str(repo_dir), role, ())
    except NotADirectoryError:
        return RepoIdentity(str(repo_dir), role, (), error=f"{base} is not a directory")
    except PermissionError:
        return RepoIdentity(
            str(repo_dir), role, (), error=f"permission denied listing {base}", denied=True
        )
    except OSError as err:
        return RepoIdentity(str(repo_dir), role, (), error=f"cannot list {base}: {_why(err)}")
    entries = tuple(_read_entry(base / name, name) for name in db_dirs)
    return RepoIdentity(str(repo_dir), role, entries)


def _read_entry(db_dir: Path, db_uuid: str) -> IdentityEntry:
    locks: tuple[str, ...] = ()
    repo_uuid: str | None = None
    error: str | None = None
    denied = False
    try:
        with os.scandir(db_dir) as it:
            locks = tuple(sorted(str(db_dir / e.name) for e in it if e.name.endswith(".lock")))
    except PermissionError:
        denied = True
    except OSError:
        pass  # the repo_uuid read below reports what is wrong with the directory
    try:
        with open(db_dir / REPO_UUID_FILE, "rb") as handle:
            repo_uuid = decode_repo_uuid(handle.read(MAX_REPO_UUID_BYTES + 1))
    except FileNotFoundError:
        error = "no repo_uuid file"
    except PermissionError:
        error, denied = "permission denied reading repo_uuid", True
    except ValueError as err:
        error = f"corrupt repo_uuid: {err}"
    except OSError as err:
        error = f"cannot read repo_uuid: {_why(err)}"
    if repo_uuid is not None and not repo_uuid.strip():
        repo_uuid, error = None, "corrupt repo_uuid: empty"
    return IdentityEntry(db_uuid, repo_uuid, error, locks, denied=denied and error is not None)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _why(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def _modified_utf8_units(body: bytes) -> list[int]:
    """UTF-16 code units, accepting exactly the forms Java's readUTF accepts."""
    units: list[int] = []
    i, n = 0, len(body)
    while i < n:
        lead = body[i]
        if lead < 0x80:
            units.append(lead)
            i += 1
        elif lead >> 5 == 0b110:
            units.append((lead & 0x1F) << 6 | _continuation(body, i, 1))
            i += 2
        elif lead >> 4 == 0b1110:
            c1, c2 = _continuation(body, i, 1), _continuation(body, i, 2)
            units.append((lead & 0x0F) << 12 | c1 << 6 | c2)
            i += 3
        else:  # 4-byte forms and stray continuation bytes are not modified UTF-8
            raise ValueError(f"malformed modified UTF-8: byte 0x{lead:02x} at offset {i}")
    return units


def _continuation(body: bytes, lead_at: int, k: int) -> int:
    at = lead_at + k
    if at >= len(body):
        raise ValueError(f"malformed modified UTF-8: sequence at offset {lead_at} cut short")
    if body[at] >> 6 != 0b10:
        raise ValueError(f"malformed modified UTF-8: bad continuation byte at offset {at}")
    return body[at] & 0x3F


def _join_surrogates(units: list[int]) -> str:
    raw = b"".join(u.to_bytes(2, "big") for u in units)
    try:
        # strict: a lone surrogate cannot be shown or put in JSON, so it counts as corrupt
        return raw.decode("utf-16-be")
    except UnicodeDecodeError as err:
        raise ValueError("malformed modified UTF-8: unpaired surrogate") from err
