"""The repository layout: what is where, what is missing, what is misplaced.

Runs at console start-up, so it only stats, lists the data dir's top level and reads
the two ``.omero`` identity directories; it never walks the repository.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import PureWindowsPath

from omero_tui.core.discovery import ServerLocation, is_foreign_windows_path
from omero_tui.core.layout.config_sources import early_systemd_question, look_at_sources
from omero_tui.core.layout.findings import layout_findings
from omero_tui.core.layout.identity import IdentityEntry, RepoIdentity, read_identity
from omero_tui.core.layout.model import (
    OPTIONAL_SUBDIRS,
    RELOCATABLE,
    STANDARD_SUBDIRS,
    EntryInfo,
    LayoutReport,
    Probe,
)
from omero_tui.core.layout.not_repository import (
    check_not_repository,
    find_client_dirs,
    find_postgres_data_dirs,
)
from omero_tui.core.mounts import MountTable
from omero_tui.core.server.proc_look import ProcLook

__all__ = [
    "STANDARD_SUBDIRS",
    "OPTIONAL_SUBDIRS",
    "RELOCATABLE",
    "EntryInfo",
    "IdentityEntry",
    "RepoIdentity",
    "LayoutReport",
    "inspect_layout",
]

# A data dir with thousands of stray top-level files must not flood the panel.
MAX_OTHER_ENTRIES = 100


def inspect_layout(
    location: ServerLocation,
    *,
    postgres_dirs: Sequence[tuple[str, str]] | None = None,
    client_dirs: Sequence[tuple[str, str]] | None = None,
) -> LayoutReport:
    """Look at the repository on disk. Never raises on a weird tree.

    ``postgres_dirs`` (scanned from processes when None) and ``client_dirs`` (the
    likely accounts' ``~/omero`` when None) are (dir, how found) pairs; tests and
    callers that already know them pass them in, since the process scan is slow.
    """
    if location.on_windows_paths:
        return _windows_layout(location)
    # One read of /proc for the PostgreSQL and server questions below, and systemd's
    # answer for the configuration sources asked now, to come while the probes run.
    with ProcLook(), early_systemd_question(location):
        return _inspect(location, postgres_dirs, client_dirs)


def _inspect(
    location: ServerLocation,
    postgres_dirs: Sequence[tuple[str, str]] | None,
    client_dirs: Sequence[tuple[str, str]] | None,
) -> LayoutReport:
    table = MountTable.read()  # one snapshot for the whole look
    data_path = location.data_dir.value or ""
    managed_path = location.managed_dir.value or os.path.join(data_path, "ManagedRepository")
    data = _probe(table, "data dir", data_path, "the binary repository (omero.data.dir)", True)
    names: list[str] = []
    if data.usable:
        listed = _list_dir(data_path)
        if listed is None:
            data = data.with_state("unreadable")
        else:
            names = listed
    managed_outside = not _same_real(managed_path, os.path.join(data_path, "ManagedRepository"))
    unused = _unused_reasons(location, data_path, managed_path, managed_outside)
    standard, extras = _probe_subdirs(table, data_path, names, unused, location)
    managed = _probe(
        table, "managed dir", managed_path, "imported filesets (omero.managed.dir)", True
    )
    identities = (read_identity(data_path, "data dir"), read_identity(managed_path, "managed dir"))
    findings = layout_findings(
        data=data,
        standard=standard,
        extras=extras,
        managed=managed,
        managed_outside=managed_outside,
        identities=identities,
        others_left_out=max(0, len(_others(names)) - MAX_OTHER_ENTRIES),
    )
    findings += check_not_repository(
        location,
        postgres_dirs=find_postgres_data_dirs() if postgres_dirs is None else postgres_dirs,
        client_dirs=find_client_dirs(location) if client_dirs is None else client_dirs,
        data_children=[p.entry.name for p in [*standard, *extras] if p.usable],
    )
    sources, source_warnings = look_at_sources(location)
    findings += source_warnings
    return LayoutReport(
        location=location,
        data_dir=data.entry,
        subdirs=tuple(p.entry for p in [*standard, *extras]),
        managed_dir=managed.entry,
        managed_outside=managed_outside,
        identities=identities,
        findings=(*location.notes, *findings),
        config_sources=sources,
    )


WINDOWS_STATE = "Windows path"


def _windows_layout(location: ServerLocation) -> LayoutReport:
    """A Windows-era repository read on another OS: named, never looked for on this disk
    (``D:\\OMERO`` joined to the working directory would be some other folder)."""
    data_path = location.data_dir.value or ""
    managed_path = location.managed_dir.value or ""

    def entry(name: str, path: str, holds: str, standard: bool = True) -> EntryInfo:
        state = WINDOWS_STATE if is_foreign_windows_path(path) else "not checked"
        return EntryInfo(name, path, state, None, "", holds, standard)

    subdirs = tuple(
        entry(name, str(PureWindowsPath(data_path) / name), holds)
        for name, holds in STANDARD_SUBDIRS
    )
    managed_outside = relative_windows(managed_path, data_path) != "ManagedRepository"
    return LayoutReport(
        location=location,
        data_dir=entry("data dir", data_path, "the binary repository (omero.data.dir)"),
        subdirs=subdirs,
        managed_dir=entry("managed dir", managed_path, "imported filesets (omero.managed.dir)"),
        managed_outside=managed_outside,
        identities=(),
        findings=location.notes,
    )


def relative_windows(path: str, top: str) -> str | None:
    """``path`` below ``top`` by Windows rules (case-insensitive), None when outside."""
    p, t = PureWindowsPath(path), PureWindowsPath(top)
    if [x.lower() for x in p.parts[: len(t.parts)]] != [x.lower() for x in t.parts]:
        return None
    return "\\".join(p.parts[len(t.parts) :])


def _probe_subdirs(
    table: MountTable,
    data_path: str,
    names: list[str],
    unused: dict[str, str],
    location: ServerLocation,
) -> tuple[list[Probe], list[Probe]]:
    """(the standard subdirs, always; the optional ones present and any other entry)."""
    standard = []
    for name, holds in STANDARD_SUBDIRS:
        probe = _probe(table, name, os.path.join(data_path, name), holds, True)
        standard.append(probe.unused_because(unused[name]) if name in unused else probe)
    extras = [
        _probe(table, name, os.path.join(data_path, name), holds, True)
        for name, holds in OPTIONAL_SUBDIRS
        if name in names
    ]
    for name in sorted(_others(names))[:MAX_OTHER_ENTRIES]:
        path = os.path.join(data_path, name)
        extras.append(_probe(table, name, path, _other_holds(path, location), False))
    return standard, extras


def _probe(table: MountTable, name: str, path: str, holds: str, standard: bool) -> Probe:
    state, target, st, real = _state(table, path)
    # As table.describe_device(path), with the path resolved and stat'ed once already.
    mount = table.lookup(real, st.st_dev) if st is not None else None
    device = mount.describe() if mount is not None else ""
    has_data = state in ("present", "symlink", "mount point") and _has_visible_entries(path)
    entry = EntryInfo(name, path, state, target, device, holds, standard)
    return Probe(entry, st.st_dev if st is not None else None, has_data)


def _state(table: MountTable, path: str) -> tuple[str, str | None, os.stat_result | None, str]:
    """(state, resolved symlink target, stat of what the path leads to, resolved path;
    the last is "" when there is nothing to stat)."""
    try:
        lst = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "missing", None, None, ""
    except (OSError, ValueError):
        return "unreadable", None, None, ""
    target: str | None = None
    st = lst
    if stat.S_ISLNK(lst.st_mode):
        target = _realpath(path)
        try:
            st = os.stat(path)
        except PermissionError:
            return "unreadable", target, None, target
        except OSError:  # dangling, or a loop
            return "broken symlink", target, None, target
    real = target if target is not None else _realpath(path)
    if not stat.S_ISDIR(st.st_mode):
        return "not a directory", target, st, real
    if not os.access(path, os.R_OK | os.X_OK):
        return "unreadable", target, st, real
    if target is not None:
        return "symlink", target, st, real
    if table.is_resolved_mount_point(real, lst):
        return "mount point", None, st, real
    return "present", None, st, real


def _unused_reasons(
    location: ServerLocation, data_path: str, managed_path: str, managed_outside: bool
) -> dict[str, str]:
    """Standard subdirs a property has moved elsewhere, with the words for their row."""
    moved = {}
    if managed_outside:
        moved["ManagedRepository"] = managed_path
    memo = location.properties.get(RELOCATABLE["BioFormatsCache"])
    if memo and not _same_real(memo, os.path.join(data_path, "BioFormatsCache")):
        moved["BioFormatsCache"] = memo
    return {
        name: f"not used: {RELOCATABLE[name]} points to {where}" for name, where in moved.items()
    }


def _other_holds(path: str, location: ServerLocation) -> str:
    configured = {
        location.managed_dir.value: "the managed repository (omero.managed.dir)",
        location.properties.get(RELOCATABLE["BioFormatsCache"]): "the Bio-Formats cache"
        " (omero.pixeldata.memoizer.dir)",
        location.properties.get("omero.fs.watchDir"): "DropBox watch folders (omero.fs.watchDir)",
    }
    for where, words in configured.items():
        if where and _same_real(where, path):
            return words
    return "not an OMERO directory" if os.path.isdir(path) else "a file, not an OMERO directory"


def _others(names: list[str]) -> list[str]:
    known = {n for n, _ in STANDARD_SUBDIRS + OPTIONAL_SUBDIRS}
    return [n for n in names if n not in known and not n.startswith(".")]


def _list_dir(path: str) -> list[str] | None:
    try:
        with os.scandir(path) as it:
            return [e.name for e in it]
    except OSError:
        return None


def _has_visible_entries(path: str) -> bool:
    """Holds anything besides hidden entries (the .omero identity is not data)."""
    try:
        with os.scandir(path) as it:
            return any(not e.name.startswith(".") for e in it)
    except OSError:
        return False


def _realpath(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _same_real(a: str, b: str) -> bool:
    return os.path.normcase(_realpath(a)) == os.path.normcase(_realpath(b))
