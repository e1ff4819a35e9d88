"""Mounts the system is told to have: /etc/fstab, systemd .mount/.automount units, autofs.

The trap OMERO documents: when a share that holds the repository fails to mount or
is dismounted, the server carries on writing into the bare mount point. This module
only reads the declarations; ``mount_trap`` compares them with the live mount table.

Everything is read, nothing is run: autofs program maps and directory services
(LDAP, NIS, SSSD) are listed as unreadable sources rather than executed or queried.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from omero_tui.core.record import frozen

FSTAB = "/etc/fstab"
# Admins' own units only: vendor units (tmp.mount in /usr/lib...) exist whether or not
# they are enabled and would raise false alarms for everything under /tmp.
SYSTEMD_UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system")
AUTO_MASTER = "/etc/auto.master"
AUTO_MASTER_D = "/etc/auto.master.d"
MAX_FILE_BYTES = 1 << 20  # a declaration file larger than this is not one

_OCTAL = re.compile(r"\\([0-7]{3})")
_SKIP_FSTYPES = frozenset({"swap", "proc", "sysfs", "devpts", "autofs"})


@frozen
class DeclaredMount:
    mount_point: str  # for a wildcard autofs entry: the map's root directory
    source: str
    fstype: str  # "" when the declaration does not say
    options: tuple[str, ...]
    declared_in: str  # "/etc/fstab line 12", "/etc/systemd/system/data.mount", ...
    automount: bool = False  # mounted on first access (autofs, x-systemd.automount)
    wildcard: bool = False  # autofs key "*": any directory directly under mount_point
    at_boot: bool = True  # False for fstab noauto and units no target wants
    trigger_point: str | None = None  # where the automounter's autofs mount sits (map root)

    def concrete_point(self, path: str) -> str | None:
        """The mount point this declaration puts over ``path``, or None if it does not."""
        path = normalise(path)
        if self.wildcard:
            root = normalise(self.mount_point)
            rest = _relative(path, root)
            return os.path.join(root, rest.split(os.sep)[0]) if rest else None
        point = normalise(self.mount_point)
        return point if _relative(path, point) is not None else None


@frozen
class DeclaredMounts:
    mounts: tuple[DeclaredMount, ...]
    read: tuple[str, ...]  # files read
    unreadable: tuple[str, ...]  # sources seen but not read, each with the reason

    def covering(self, path: str) -> list[tuple[DeclaredMount, str]]:
        """(declaration, concrete mount point) for each declared mount at or above path."""
        found = []
        for mount in self.mounts:
            point = mount.concrete_point(path)
            if point is not None and point != os.sep:
                found.append((mount, point))
        return found


def read_declared(
    fstab: str | None = FSTAB,
    unit_dirs: Sequence[str] = SYSTEMD_UNIT_DIRS,
    auto_master: str | None = AUTO_MASTER,
    auto_master_d: str | None = AUTO_MASTER_D,
) -> DeclaredMounts:
    """Read every declaration source given; a missing file is simply not declared."""
    mounts: list[DeclaredMount] = []
    read: list[str] = []
    unreadable: list[str] = []
    if fstab:
        text = _read(fstab, unreadable)
        if text is not None:
            read.append(fstab)
            mounts += parse_fstab(text, fstab)
    for unit_dir in unit_dirs:
        for path, text in _unit_files(unit_dir, unreadable):
            read.append(path)
            unit = parse_mount_unit(text, path, enabled=_unit_enabled(unit_dir, path))
            if unit is not None:
                mounts.append(unit)
    masters = [auto_master] if auto_master else []
    if auto_master_d and os.path.isdir(auto_master_d):
        masters += sorted(
            os.path.join(auto_master_d, n) for n in _listdir(auto_master_d) if n.endswith(".autofs")
        )
    for master in masters:
        text = _read(master, unreadable)
        if text is not None:
            read.append(master)
            mounts += _autofs(text, master, read, unreadable)
    return DeclaredMounts(tuple(_dedupe(mounts)), tuple(read), tuple(unreadable))


def parse_fstab(text: str, origin: str = FSTAB) -> list[DeclaredMount]:
    mounts = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        source, point, fstype = (_unescape(f) for f in fields[:3])
        options = tuple(o for o in (fields[3] if len(fields) > 3 else "").split(",") if o)
        if fstype in _SKIP_FSTYPES or not point.startswith("/"):
            continue  # swap, "none" and friends mount nothing a repository can live on
        mounts.append(
            DeclaredMount(
                mount_point=normalise(point),
                source=source,
                fstype=fstype,
                options=options,
                declared_in=f"{origin} line {number}",
                automount="x-systemd.automount" in options,
                at_boot="noauto" not in options,
            )
        )
    return mounts


def parse_mount_unit(text: str, origin: str, *, enabled: bool = True) -> DeclaredMount | None:
    """A systemd ``.mount`` or ``.automount`` unit (its [Mount]/[Automount] section)."""
    values: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section in ("Mount", "Automount") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    where = values.get("Where", "")
    if not where.startswith("/"):
        return None
    automount = origin.endswith(".automount")
    return DeclaredMount(
        mount_point=normalise(where),
        source=values.get("What", ""),
        fstype=values.get("Type", ""),
        options=tuple(o for o in values.get("Options", "").split(",") if o),
        declared_in=origin,
        automount=automount,
        at_boot=enabled,
    )


def parse_autofs_map(text: str, origin: str, root: str | None) -> list[DeclaredMount]:
    """Entries of one map; ``root`` is the master's mount point, None for a direct map."""
    mounts = []
    for line in _joined_lines(text):
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith(("#", "+")):
            continue
        key, rest = fields[0], fields[1:]
        options: tuple[str, ...] = ()
        if rest[0].startswith("-"):
            options = tuple(o for o in rest[0][1:].split(",") if o)
            rest = rest[1:]
        if not rest:
            continue
        location = rest[1] if rest[0].startswith("/") and len(rest) > 1 else rest[0]
        fstype = next((o.split("=", 1)[1] for o in options if o.startswith("fstype=")), "nfs")
        if root is None:
            if not key.startswith("/"):
                continue
            point, wildcard = key, False
        else:
            wildcard = key == "*"
            point = root if wildcard else os.path.join(root, key)
        mounts.append(
            DeclaredMount(
                normalise(point),
                location,
                fstype,
                options,
                origin,
                automount=True,
                wildcard=wildcard,
                trigger_point=normalise(root) if root is not None else normalise(point),
            )
        )
    return mounts


def _autofs(
    master_text: str, origin: str, read: list[str], unreadable: list[str]
) -> list[DeclaredMount]:
    mounts: list[DeclaredMount] = []
    for line in _joined_lines(master_text):
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith(("#", "+")):
            continue
        root, spec = fields[0], fields[1]
        if spec in ("-hosts", "-null"):
            continue  # /net-style host maps mount whatever is exported: nothing declared
        kind, name = "", spec
        if ":" in spec and not spec.startswith("/"):
            kind, _, name = spec.partition(":")
            kind = kind.split(",")[0]  # "file,sun:" -> "file"
        if kind and kind != "file":
            unreadable.append(f"{spec} (autofs {kind} map in {origin}: not queried)")
            continue
        path = name if name.startswith("/") else os.path.join("/etc", name)
        if os.access(path, os.X_OK) and os.path.isfile(path):
            unreadable.append(f"{path} (autofs program map: not run)")
            continue
        text = _read(path, unreadable)
        if text is None:
            if not os.path.exists(path):
                unreadable.append(f"{name} (autofs map from {origin}: not a local file)")
            continue
        read.append(path)
        mounts += parse_autofs_map(text, path, None if root == "/-" else normalise(root))
    return mounts


def _joined_lines(text: str) -> Iterable[str]:
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full and not full.startswith("#"):
            yield full


def _unit_files(unit_dir: str, unreadable: list[str]) -> Iterable[tuple[str, str]]:
    for name in sorted(_listdir(unit_dir)):
        if name.endswith((".mount", ".automount")):
            path = os.path.join(unit_dir, name)
            text = _read(path, unreadable)
            if text is not None:
                yield path, text


def _unit_enabled(unit_dir: str, path: str) -> bool:
    """Some target wants or requires the unit (a symlink in *.wants/ or *.requires/)."""
    name = os.path.basename(path)
    for entry in _listdir(unit_dir):
        if entry.endswith((".wants", ".requires")) and os.path.lexists(
            os.path.join(unit_dir, entry, name)
        ):
            return True
    return False


def _dedupe(mounts: list[DeclaredMount]) -> list[DeclaredMount]:
    # fstab first, then units, then autofs: the first declaration of a point is shown.
    seen: set[tuple[str, bool]] = set()
    kept = []
    for mount in mounts:
        key = (mount.mount_point, mount.wildcard)
        if key not in seen:
            seen.add(key)
            kept.append(mount)
    return kept


def _read(path: str, unreadable: list[str]) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_FILE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as err:
        unreadable.append(f"{path} ({err.strerror or err})")
        return None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def normalise(path: str) -> str:
    normal = os.path.normpath(path)
    return normal if normal != "//" else os.sep


def _relative(path: str, point: str) -> str | None:
    """Path below point ("" when equal), None when path is not at or under point."""
    if path == point:
        return ""
    prefix = point.rstrip(os.sep) + os.sep
    return path[len(prefix) :] if path.startswith(prefix) else None
