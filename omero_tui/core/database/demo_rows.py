"""Rows for the demo's (and the tests') throw-away database, made from its repository.

Every file of the demo sandbox gets the row OMERO would have made for it, except a few
deliberate faults the Database panel is there to find: rows whose files are gone
(missing) and files no row knows (orphans). ``DemoFaults`` says exactly which, so a
test can hold the check to them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from omero_tui.core.database.omero_schema import SCHEMA_SQL, SHA1_ID
from omero_tui.core.layout.identity import read_identity
from omero_tui.core.record import field, mutable

SYSTEM_GROUP, USER_GROUP, LAB_GROUP = 0, 1, 3
LOST_FILES_ID = 900_001  # a legacy Files row whose file is gone
FIRST_MANAGED_ID = 1_000_000


@mutable
class DemoFaults:
    missing: list[str] = field(default_factory=list)  # "Area/relative/path"
    orphans: list[str] = field(default_factory=list)


def numbered(n: int) -> str:
    parts: list[str] = []
    rest = n
    while rest > 999:
        rest //= 1000
        parts.insert(0, f"Dir-{rest % 1000:03d}")
    return "/".join([*parts, str(n)])


def _uuid_of(directory: Path, role: str) -> tuple[str | None, str | None]:
    identity = read_identity(directory, role)
    for entry in identity.entries:
        if entry.repo_uuid:
            return entry.db_uuid, entry.repo_uuid
    return None, None


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fill_demo_database(
    conn: Any, data_dir: Path, managed_dir: Path, server_dir: Path
) -> DemoFaults:
    """Create OMERO's tables in ``conn``'s database and fill them from the sandbox."""
    faults = DemoFaults()
    db_uuid, data_uuid = _uuid_of(data_dir, "data dir")
    _, managed_uuid = _uuid_of(managed_dir, "managed dir")
    conn.execute(SCHEMA_SQL)
    conn.execute("INSERT INTO configuration VALUES ('omero.db.uuid', %s)", [db_uuid])
    conn.execute(
        "INSERT INTO experimentergroup (id, name) VALUES (0, 'system'), (1, 'user'), (3, 'lab-a')"
    )
    users = {0: "root"}
    for entry in sorted(os.listdir(managed_dir)) if managed_dir.is_dir() else []:
        name, _, uid = entry.rpartition("_")
        if name and uid.isdigit():
            users[int(uid)] = name
    for uid, name in sorted(users.items()):
        conn.execute("INSERT INTO experimenter (id, omename) VALUES (%s, %s)", [uid, name])
    next_id = iter(range(FIRST_MANAGED_ID, 10**12))  # above every legacy Files id
    rows: list[tuple[Any, ...]] = []

    def group_of(uid: int) -> int:
        return SYSTEM_GROUP if uid == 0 else LAB_GROUP

    for uuid, root in ((data_uuid, data_dir), (managed_uuid, managed_dir)):
        if uuid:
            # As the server registers it: path is the parent with a trailing "/".
            rows.append(
                (
                    next(next_id),
                    str(root.parent).rstrip("/") + "/",
                    root.name,
                    0,
                    None,
                    uuid,
                    "Repository",
                    None,
                    0,
                    0,
                )
            )
    rows.append(
        (
            next(next_id),
            f"{server_dir}/lib/",
            "scripts",
            0,
            None,
            "ScriptRepo",
            "Repository",
            None,
            0,
            0,
        )
    )
    orphan_managed = _managed_rows(rows, next_id, managed_dir, managed_uuid, users, group_of)
    if orphan_managed:
        faults.orphans.append(f"ManagedRepository/{orphan_managed}")
    first_user2 = next(
        (r for r in rows if r[8] == 2 and r[6] == "Directory" and r[1].count("/") == 3), None
    )
    if first_user2 and managed_uuid:
        folder = first_user2[1] + first_user2[2] + "/"
        rows.append(
            (
                next(next_id),
                folder,
                "lost_scan.czi",
                123_456,
                managed_uuid,
                "0" * 40,
                "application/octet-stream",
                SHA1_ID,
                2,
                LAB_GROUP,
            )
        )
        faults.missing.append(f"ManagedRepository/{folder}lost_scan.czi")
    files_dir = data_dir / "Files"
    legacy_ids = sorted(
        int(p.name) for p in files_dir.rglob("*") if p.is_file() and p.name.isdigit()
    )
    orphan_file_id = legacy_ids[16] if len(legacy_ids) > 16 else None
    owners = sorted(users)
    for fid in legacy_ids:
        path = files_dir / numbered(fid)
        if fid == orphan_file_id:
            faults.orphans.append(f"Files/{numbered(fid)}")
            continue
        uid = owners[fid % len(owners)]
        rows.append(
            (
                fid,
                "/",
                f"attachment_{fid}.pdf",
                path.stat().st_size,
                None,
                _sha1(path),
                "application/pdf",
                SHA1_ID,
                uid,
                group_of(uid),
            )
        )
    rows.append(
        (
            LOST_FILES_ID,
            "/",
            "lost_attachment.pdf",
            4096,
            None,
            "0" * 40,
            "application/pdf",
            SHA1_ID,
            3,
            LAB_GROUP,
        )
    )
    faults.missing.append(f"Files/{numbered(LOST_FILES_ID)}")
    with (
        conn.cursor() as cur,
        cur.copy(
            'COPY originalfile (id, path, name, "size", repo, hash, mimetype, hasher, owner_id,'
            " group_id) FROM STDIN"
        ) as copy,
    ):
        for r in rows:
            copy.write_row((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]))
    _pixels_and_thumbnails(conn, data_dir, owners, group_of)
    return faults


def _managed_rows(rows, next_id, managed_dir, managed_uuid, users, group_of) -> str | None:
    """Directory and file rows of the managed repository; returns the orphan left out."""
    if not managed_uuid or not managed_dir.is_dir():
        return None
    files: list[tuple[str, str, Path, int]] = []
    for here, dirs, names in os.walk(managed_dir):
        rel = os.path.relpath(here, managed_dir)
        if rel == ".":
            dirs[:] = sorted(d for d in dirs if d != ".omero")
            rel = ""
        else:
            dirs.sort()
        top = (rel or "").split("/", 1)[0]
        owner = next((u for u, n in users.items() if top == f"{n}_{u}"), 0)
        parent = (rel + "/") if rel else "/"
        for d in dirs:
            rows.append(
                (
                    next(next_id),
                    parent,
                    d,
                    None,
                    managed_uuid,
                    None,
                    "Directory",
                    None,
                    owner,
                    group_of(owner),
                )
            )
        for name in sorted(names):
            files.append((parent, name, Path(here) / name, owner))
    orphan = next((f for f in reversed(files) if f[3] == 3 and not f[1].endswith(".log")), None)
    for parent, name, path, owner in files:
        if orphan is not None and (parent, name) == orphan[:2]:
            continue
        try:
            size = path.stat().st_size
        except OSError:
            continue
        mime = "application/omero-log-file" if name.endswith(".log") else "application/octet-stream"
        rows.append(
            (
                next(next_id),
                parent,
                name,
                size,
                managed_uuid,
                _sha1(path),
                mime,
                SHA1_ID,
                owner,
                group_of(owner),
            )
        )
    if orphan is None:
        return None
    return (orphan[0].lstrip("/") if orphan[0] != "/" else "") + orphan[1]


def _pixels_and_thumbnails(conn: Any, data_dir: Path, owners: list[int], group_of) -> None:
    pixel_ids = sorted(
        int(p.name) for p in (data_dir / "Pixels").rglob("*") if p.is_file() and p.name.isdigit()
    )
    thumb_ids = sorted(
        int(p.name)
        for p in (data_dir / "Thumbnails").rglob("*")
        if p.is_file() and p.name.isdigit()
    )
    with conn.cursor() as cur:
        with cur.copy("COPY image (id, name, fileset, owner_id, group_id) FROM STDIN") as copy:
            for pid in pixel_ids:
                uid = owners[pid % len(owners)]
                copy.write_row((pid, f"image {pid}", None, uid, group_of(uid)))
        with cur.copy("COPY pixels (id, image, owner_id, group_id) FROM STDIN") as copy:
            for pid in pixel_ids:
                uid = owners[pid % len(owners)]
                copy.write_row((pid, pid, uid, group_of(uid)))
        if pixel_ids:
            with cur.copy("COPY thumbnail (id, pixels, owner_id, group_id) FROM STDIN") as copy:
                for tid in thumb_ids:
                    pid = pixel_ids[tid % len(pixel_ids)]
                    uid = owners[pid % len(owners)]
                    copy.write_row((tid, pid, uid, group_of(uid)))
