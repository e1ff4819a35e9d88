"""OMERO's lock files, and whether some process holds each one right now.

Held or stale is decided without taking the lock ourselves, so a running server is
never disturbed: on Linux ``/proc/locks`` lists every flock and POSIX lock by device
and inode; elsewhere, and for a file a process has open without a visible lock,
psutil's open-file lists say who uses it. Only this host's locks can be seen: on a
network share another client's lock looks stale from here.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence

from omero_tui.core.findings import Finding, Severity, counted
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import frozen

PROC_LOCKS = "/proc/locks"
DEFAULT_PYRAMID_BUDGET = 200_000  # directory entries looked at under Pixels
_PROC_LOCK_LINE = re.compile(
    r"^\d+:\s+(?P<blocked>->\s+)?(?P<kind>\S+)\s+(?P<advisory>\S+)\s+(?P<mode>\S+)\s+"
    r"(?P<pid>-?\d+)\s+(?P<major>[0-9a-fA-F]+):(?P<minor>[0-9a-fA-F]+):(?P<inode>\d+)\s"
)


@frozen
class ProcLock:
    kind: str  # "POSIX" | "FLOCK" | "OFDLCK" | "LEASE" ...
    mode: str  # "WRITE" | "READ"
    pid: int  # -1 for open-file-description locks (no single owner)
    device: tuple[int, int]
    inode: int
    blocked: bool  # a waiter, not a holder


@frozen
class LockHolder:
    pid: int
    process: str  # process name; "" when it cannot be seen
    how: str  # "POSIX lock (WRITE)", "FLOCK lock (READ)", "open, no lock seen"


@frozen
class LockFileState:
    path: str
    kind: str  # "repository" (.omero/repository/*/.lock) | "lucene" | "pyramid"
    state: str  # "held" | "open" (in use, no lock seen) | "stale" | "unknown"
    holders: tuple[LockHolder, ...]
    mtime: float | None


@frozen
class LockFilesReport:
    files: tuple[LockFileState, ...]
    method: str  # how holders were found, in words
    pyramids_complete: bool  # False when the Pixels walk stopped at its budget
    error: str | None = None


def parse_proc_locks(text: str) -> list[ProcLock]:
    locks = []
    for line in text.splitlines():
        match = _PROC_LOCK_LINE.match(line.strip())
        if match is None:
            continue
        locks.append(
            ProcLock(
                kind=match["kind"],
                mode=match["mode"],
                pid=int(match["pid"]),
                device=(int(match["major"], 16), int(match["minor"], 16)),
                inode=int(match["inode"]),
                blocked=bool(match["blocked"]),
            )
        )
    return locks


def find_lock_files(
    data_dir: str,
    managed_dir: str,
    *,
    pyramid_budget: int = DEFAULT_PYRAMID_BUDGET,
    pyramids: Sequence[str] | None = None,
) -> tuple[list[tuple[str, str]], bool]:
    """((path, kind) for each lock file present, whether the Pixels walk was complete).

    ``pyramids``: the pyramid lock files already found by a whole walk of Pixels (the
    usage scan's); then Pixels is not listed again."""
    found: list[tuple[str, str]] = []
    for repo in dict.fromkeys((data_dir, managed_dir)):
        base = os.path.join(repo, ".omero", "repository")
        for db_dir in sorted(_listdir(base)):
            lock = os.path.join(base, db_dir, ".lock")
            if os.path.lexists(lock):
                found.append((lock, "repository"))
    lucene = os.path.join(data_dir, "FullText", "write.lock")
    if os.path.lexists(lucene):
        found.append((lucene, "lucene"))
    if pyramids is None:
        pyramids, complete = _pyramid_locks(os.path.join(data_dir, "Pixels"), pyramid_budget)
    else:
        complete = True
    found += [(p, "pyramid") for p in sorted(pyramids)]
    return found, complete


def inspect_lock_files(
    data_dir: str,
    managed_dir: str,
    *,
    table: MountTable | None = None,
    proc_locks: str | None = PROC_LOCKS,
    pyramid_budget: int = DEFAULT_PYRAMID_BUDGET,
    pyramids: Sequence[str] | None = None,
) -> LockFilesReport:
    found, complete = find_lock_files(
        data_dir, managed_dir, pyramid_budget=pyramid_budget, pyramids=pyramids
    )
    locks, method = _read_proc_locks(proc_locks, needed=bool(found))
    table = table or MountTable.read()
    states: list[LockFileState] = []
    unresolved: list[int] = []
    for path, kind in found:
        try:
            st = os.stat(path)
        except OSError:
            states.append(LockFileState(path, kind, "unknown", (), None))
            continue
        holders = _holders_in(locks, _devices(path, st, table), st.st_ino) if locks else ()
        states.append(
            LockFileState(path, kind, "held" if holders else "stale", holders, st.st_mtime)
        )
        if not holders:
            unresolved.append(len(states) - 1)
    if unresolved:
        # A process may have it open without a lock we can see (or /proc/locks is
        # missing): such a file is in use, never "stale".
        users = _open_by(states[i].path for i in unresolved)
        for i in unresolved:
            holders = users.get(os.path.realpath(states[i].path), ())
            if holders:
                old = states[i]
                states[i] = LockFileState(old.path, old.kind, "open", holders, old.mtime)
        method += " and open files (psutil)"
    return LockFilesReport(tuple(states), method, complete)


def _pyramid_locks(pixels: str, budget: int) -> tuple[list[str], bool]:
    """``.<id>_pyramid.pyr_lock`` files under Pixels, looking at about ``budget`` entries
    (whole listings: the last one may pass it).

    Names are filtered as plain strings, without an object or a ``stat`` per entry:
    Pixels holds a file per image and pyramid, and only its few ``Dir-*`` names are
    looked at further. This runs in every ``check``.
    """
    found: list[str] = []
    stack = [pixels]
    seen = 0
    while stack:
        if seen >= budget:
            return sorted(found), False
        directory = stack.pop()
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        seen += len(names)
        found += [
            os.path.join(directory, n) for n in names if n[:1] == "." and n.endswith(".pyr_lock")
        ]
        for name in [n for n in names if n.startswith("Dir-")]:
            path = os.path.join(directory, name)
            if _is_dir(path):
                stack.append(path)
    return sorted(found), True


def _read_proc_locks(path: str | None, *, needed: bool = True) -> tuple[list[ProcLock], str]:
    """The held locks and how they were found. ``needed=False`` (no lock file to judge)
    only opens the file, to say the same method: the first read of /proc/locks in a
    process can take 10 ms, and a repository without lock files needs none of it."""
    if not path:
        return [], "open files (psutil)"
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read() if needed else ""
    except OSError:
        return [], "open files (psutil)"
    return [lk for lk in parse_proc_locks(text) if not lk.blocked], path


def _devices(path: str, st: os.stat_result, table: MountTable) -> set[tuple[int, int]]:
    # /proc/locks names the superblock's device; btrfs subvolumes stat with another one,
    # which the mount table's entry then supplies.
    devices = {(os.major(st.st_dev), os.minor(st.st_dev))}
    mount = table.mount_of(path)
    if mount is not None and mount.device is not None:
        devices.add(mount.device)
    return devices


def _holders_in(
    locks: list[ProcLock], devices: set[tuple[int, int]], inode: int
) -> tuple[LockHolder, ...]:
    holders = []
    for lock in locks:
        if lock.inode == inode and lock.device in devices:
            how = f"{lock.kind} lock ({lock.mode})"
            holders.append(LockHolder(lock.pid, _process_name(lock.pid), how))
    return tuple(holders)


def _open_by(paths: Iterable[str]) -> dict[str, tuple[LockHolder, ...]]:
    wanted = {os.path.realpath(p) for p in paths}
    users: dict[str, list[LockHolder]] = {}
    try:
        import psutil
    except ImportError:
        return {}
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            files = proc.open_files()
        except (psutil.Error, OSError):
            continue
        for handle in files:
            if handle.path in wanted:
                holder = LockHolder(proc.pid, proc.info.get("name") or "", "open, no lock seen")
                users.setdefault(handle.path, []).append(holder)
    return {path: tuple(found) for path, found in users.items()}


def _process_name(pid: int) -> str:
    if pid <= 0:
        return ""
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # noqa: BLE001 - gone, hidden, or no psutil: the pid still says enough
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _is_dir(path: str) -> bool:
    """A directory itself, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def lock_file_findings(report: LockFilesReport, remote: Callable[[str], bool]) -> list[Finding]:
    """Findings for stale and unseen lock files; ``remote(path)`` says it is on a share."""
    findings = []
    for state in report.files:
        note = (
            " (unless another host of this network share holds it, which cannot be seen here)"
            if remote(state.path)
            else ""
        )
        if state.kind == "repository" and state.state == "stale":
            findings.append(
                Finding(
                    "locks",
                    Severity.WARNING,
                    "locks.stale_repo_lock",
                    "No process on this host holds this repository .lock file, which a server "
                    f"that did not stop cleanly leaves behind{note}; remove it only while the "
                    "server is verified stopped.",
                    state.path,
                )
            )
        elif state.kind == "lucene" and state.state == "stale":
            findings.append(
                Finding(
                    "locks",
                    Severity.INFO,
                    "locks.stale_lucene_lock",
                    "Lucene leaves write.lock behind and it is harmless while no process "
                    "holds it, because its native lock is the OS lock, not the file.",
                    state.path,
                )
            )
        elif state.state == "open":
            findings.append(
                Finding(
                    "locks",
                    Severity.INFO,
                    "locks.lock_file_open",
                    f"{_who(state.holders)} has this lock file open without a lock this "
                    "console can see, so it is in use and not stale.",
                    state.path,
                )
            )
    stale_pyramids = [s for s in report.files if s.kind == "pyramid" and s.state == "stale"]
    if stale_pyramids:
        count = len(stale_pyramids)
        findings.append(
            Finding(
                "locks",
                Severity.WARNING,
                "locks.stale_pyramid_lock",
                (
                    f"{count} pyramid lock files that no process holds mean interrupted "
                    "pyramid builds, and OMERO reports those pyramids as still in progress "
                    "until the files are removed while the server is stopped."
                    if count > 1
                    else "A pyramid lock file that no process holds means an interrupted "
                    "pyramid build, and OMERO reports that pyramid as still in progress until "
                    "the file is removed while the server is stopped."
                ),
                stale_pyramids[0].path,
            )
        )
    if not report.pyramids_complete:
        findings.append(
            Finding(
                "locks",
                Severity.INFO,
                "locks.pyramid_search_incomplete",
                "The search for pyramid lock files under Pixels stopped at its size limit, "
                "so stale ones further down are not listed.",
                None,
            )
        )
    return findings


def _who(holders: tuple[LockHolder, ...]) -> str:
    first = holders[0]
    name = f" ({first.process})" if first.process else ""
    more = f" and {len(holders) - 1} more" if len(holders) > 1 else ""
    return f"Process {first.pid}{name}{more}"


# Lucene's write.lock is left alone: it is harmless when stale and Lucene manages it.
REMOVABLE_KINDS = ("repository", "pyramid")


@frozen
class StaleRemoval:
    removed: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]  # (path, why it was kept)
    refused: str | None = None  # why nothing was removed at all
    gone: int = 0  # stale when looked at, already gone when removal came

    def summary(self) -> str:
        """What was removed, or why nothing was: one sentence for the panel and the CLI."""
        if self.refused:
            return f"Nothing removed: {self.refused}."
        parts = []
        if self.removed:
            parts.append(f"Removed {counted(len(self.removed), 'stale lock file')}")
        if self.kept:
            parts.append(f"kept {counted(len(self.kept), 'lock file')} in use or changed")
        if self.gone:
            parts.append(f"{counted(self.gone, 'stale lock file')} already gone")
        if not parts:
            return (
                "Nothing to remove: no stale .lock or .pyr_lock file was found "
                "(Lucene's write.lock is harmless and left alone)."
            )
        sentence = "; ".join(parts)
        return sentence[:1].upper() + sentence[1:] + "."


def removable(files: Iterable[LockFileState]) -> list[LockFileState]:
    return [f for f in files if f.state == "stale" and f.kind in REMOVABLE_KINDS]


def remove_stale(
    files: Iterable[LockFileState],
    *,
    table: MountTable | None = None,
    proc_locks: str | None = PROC_LOCKS,
) -> StaleRemoval:
    """Remove stale repository and pyramid lock files, looking at each one again first.

    The caller must have verified that the server is stopped. A file some process
    holds or has open by now is kept, and so is one replaced since the report (another
    mtime): the report no longer describes it.
    """
    candidates = removable(files)
    if not candidates:
        return StaleRemoval((), ())
    table = table or MountTable.read()
    locks, _ = _read_proc_locks(proc_locks)
    users = _open_by(f.path for f in candidates)
    removed: list[str] = []
    kept: list[tuple[str, str]] = []
    gone = 0
    for state in candidates:
        try:
            st = os.stat(state.path)
        except FileNotFoundError:
            gone += 1
            continue
        except OSError as err:
            kept.append((state.path, err.strerror or str(err)))
            continue
        holders = _holders_in(locks, _devices(state.path, st, table), st.st_ino) if locks else ()
        holders = holders or users.get(os.path.realpath(state.path), ())
        if holders:
            kept.append((state.path, f"{_who(holders)} uses it now"))
        elif st.st_mtime != state.mtime:
            kept.append((state.path, "it changed since it was looked at"))
        else:
            try:
                os.unlink(state.path)
            except OSError as err:
                kept.append((state.path, err.strerror or str(err)))
                continue
            removed.append(state.path)
    return StaleRemoval(tuple(removed), tuple(kept), gone=gone)
