"""The hot loop of the usage scan: list one directory, or walk a share of a tree.

This runs inside the scan's worker processes, so it imports only the standard library
and speaks in plain tuples, which marshal fast. Definitions follow GNU ``du -x``:

* every inode counts its ``st_size`` (apparent) and ``st_blocks * 512`` (allocated),
  directories included; a non-directory with more than one link counts once per
  (st_dev, st_ino), which the merge decides, so such entries come back as *links*;
* symlinks are never followed; a directory on another filesystem than the tree's root
  is left out entirely (``du -x`` counts not even the mount point) and reported;
* ``files`` counts regular files per path, like ``find -type f``.

A directory's own inode is measured from its parent's listing, before the directory
is read, so a quick rescan that finds the same mtime and ctime later can trust that
nothing was added or removed since the listing.
"""

from __future__ import annotations

import contextlib
import os
from array import array

# A directory record: the directory's own inode, plus what it holds DIRECTLY (its
# subdirectories' contents are in their own records). Counts exclude the links below.
REL, INO, MTIME, CTIME, OWN_SIZE, OWN_BLOCKS, FILES, APPARENT, BLOCKS, ERRORS, HIST = range(11)
# A link: one path of a non-directory whose st_nlink > 1, de-duplicated at the merge.
L_DEV, L_INO, L_NLINK, L_SIZE, L_BLOCKS, L_DAY, L_REL, L_NAME = range(8)

DAY = 86400
S_IFMT, S_IFDIR, S_IFREG = 0o170000, 0o040000, 0o100000
OPEN_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
MAX_PROBLEMS = 200  # error messages kept per task; all errors are counted regardless

# (ino, mtime_ns, ctime_ns, size, blocks) of a directory, from its parent's listing.
Own = tuple[int, int, int, int, int]
# OMERO writes a pyramid next to a ``.<pixels id>_pyramid.pyr_lock``; one left behind
# by a dead server blocks that image. The walk notes them where pyramids are written
# (under Pixels), so a check need not list Pixels a second time to find them.
PYRAMID_LOCK = ".pyr_lock"


def is_pyramid_lock(name: str) -> bool:
    return name.endswith(PYRAMID_LOCK) and name[:1] == "."


def watched(rel: str, watch: str | None) -> bool:
    """Whether ``rel`` lies in the subtree ``watch`` ("" is the whole tree; None none)."""
    if watch is None:
        return False
    return not watch or rel == watch or rel.startswith(watch + "/")


def own_of(st: os.stat_result) -> Own:
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_blocks)


def join(root: str, rel: str) -> str:
    return f"{root}/{rel}" if rel else root


class Emitter:
    """Receives every entry of a listing (the ncdu export); the scan itself passes None."""

    def directory(self, rel: str, own: Own, read_error: bool) -> None: ...

    def entry(self, name: str, st: os.stat_result) -> None: ...

    def other_fs(self, name: str, st: os.stat_result) -> None: ...

    def unreadable(self, name: str) -> None: ...


def list_directory(
    root: str,
    rel: str,
    own: Own,
    dev: int,
    links: list,
    problems: list,
    mounts: list,
    days: dict | None = None,
    watch: str | None = None,
    emit: Emitter | None = None,
) -> tuple[tuple, list[tuple[str, Own]], int, list[tuple[str, str]]]:
    """(record, subdirectories as (rel, own), entries seen, marks) for one directory.

    ``days`` (blocks by mtime day of the directory's row) gains this directory's files;
    marks are (rel, name) of the pyramid lock files in it when ``rel`` lies in ``watch``
    (see ``watched``).
    """
    marks: list[tuple[str, str]] = []
    look = watched(rel, watch)
    path = join(root, rel)
    files = apparent = blocks = errors = 0
    hist: dict[int, int] = {}
    subdirs: list[tuple[str, Own]] = []
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as err:
        _note(problems, path, path, err)
        if emit is not None:
            emit.directory(rel, own, True)
        return (rel, *own, 0, 0, 0, 1, b""), subdirs, 0, marks
    if emit is not None:
        emit.directory(rel, own, False)
    prefix = rel + "/" if rel else ""
    unmeasured: list[str] = []
    # Names, then one lstat each relative to the open directory: cheaper than scandir's
    # DirEntry objects, whose file type this loop never needs (every entry is stat'ed).
    lstat = os.lstat
    try:
        names = os.listdir(fd)
    except OSError as err:  # the listing itself broke off (I/O error, vanished directory)
        errors += 1
        _note(problems, path, path, err)
        names = []
    try:
        for name in names:
            try:
                st = lstat(name, dir_fd=fd)
            except OSError as err:
                errors += 1
                _note(problems, path, f"{path}/{name}", err)
                if look and is_pyramid_lock(name):
                    marks.append((rel, name))
                unmeasured.append(name)
                if emit is not None:
                    emit.unreadable(name)
                continue
            mode = st.st_mode & 0o170000  # S_IFMT, spelled out: this runs once per entry
            if mode == 0o040000:  # S_IFDIR
                if st.st_dev != dev:  # a mount point: only directories can be one
                    mounts.append(prefix + name)
                    if emit is not None:
                        emit.other_fs(name, st)
                    continue
                subdirs.append(
                    (
                        prefix + name,
                        (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_blocks),
                    )
                )
                continue
            if emit is not None:
                emit.entry(name, st)
            if look and is_pyramid_lock(name):
                marks.append((rel, name))
            if mode == 0o100000:  # S_IFREG
                files += 1
            if st.st_nlink > 1:
                link = (st.st_dev, st.st_ino, st.st_nlink, st.st_size, st.st_blocks)
                links.append((*link, st[8] // DAY, rel, name))
                continue
            apparent += st.st_size
            b = st.st_blocks
            blocks += b
            day = st[8] // DAY  # whole seconds: int arithmetic is cheaper
            hist[day] = hist.get(day, 0) + b
        if unmeasured:
            files += _listed_as_files(fd, unmeasured)
    finally:
        os.close(fd)
    if days is not None:
        for day, count in hist.items():
            days[day] = days.get(day, 0) + count
    record = (rel, *own, files, apparent, blocks, errors, pack_hist(hist))
    return record, subdirs, len(names), marks


def _listed_as_files(fd: int, names: list[str]) -> int:
    """How many of ``names`` the listing calls regular files: ``find -type f`` trusts the
    listing's d_type for an entry it cannot stat, so a file it is, unmeasured."""
    wanted = set(names)
    found = 0
    with contextlib.suppress(OSError), os.scandir(fd) as entries:
        for entry in entries:
            if entry.name in wanted:
                with contextlib.suppress(OSError):
                    found += entry.is_file(follow_symlinks=False)
    return found


def walk_task(
    root: str,
    dev: int,
    starts: list[tuple[str, Own]],
    budget: int,
    watch: str | None = None,
    keep: dict[str, dict[int, int]] | None = None,
) -> tuple:
    """Walk ``starts`` depth first until ``budget`` entries are seen.

    Returns (records, links, problems, mounts, leftovers, entries seen, days, marks):
    leftovers are directories not yet read, which the scan hands out again, so one huge
    subtree is shared between the workers instead of keeping one busy while the other
    idles; days are blocks by mtime day per first path component (the table's rows),
    summed here so the merge need not unpack every directory's histogram; marks are
    the pyramid lock files met in the subtree ``watch`` (see ``watched``). With ``keep``,
    the days are added to it instead and come back empty: a worker keeps them over all
    its tasks of a scan, and the scan asks for them once at the end (usage.worker).
    """
    records: list = []
    links: list = []
    problems: list = []
    mounts: list = []
    marks: list = []
    days: dict[str, dict[int, int]] = {} if keep is None else keep
    stack = starts[::-1]
    seen = 0
    while stack and seen < budget:
        rel, own = stack.pop()
        row = days.setdefault(rel.partition("/")[0], {})
        record, subdirs, n, found = list_directory(
            root, rel, own, dev, links, problems, mounts, row, watch
        )
        marks += found
        records.append(record)
        seen += n
        stack.extend(subdirs)
    return records, links, problems, mounts, stack, seen, days if keep is None else {}, marks


# A directory's blocks by mtime day, packed narrow: a form byte, its days (since 1970)
# as uint16, then its blocks as the narrowest of uint16 (32 MiB of one day in one
# directory) and uint32 (2 TiB): 4 or 6 bytes a day where int64 pairs take 16. These
# are most of what the workers send back and of the cache. A day that does not fit
# (an mtime before 1970 or after 2149) or a larger count packs that directory WIDE:
# int64 pairs.
_DAYS = "H"
_BLOCKS = {ord("h"): "H", ord("i"): "I"}  # form byte -> the blocks' array type
_FORMS = [(bytes([form]), code) for form, code in _BLOCKS.items()]
WIDE = b"w"


def pack_hist(hist: dict[int, int]) -> bytes:
    """Blocks by mtime day, packed (see _BLOCKS): far smaller than a dict per directory."""
    if not hist:
        return b""
    try:
        days = array(_DAYS, hist).tobytes()
    except OverflowError:
        return _pack_wide(hist)
    for form, code in _FORMS:
        try:
            return b"".join((form, days, array(code, hist.values()).tobytes()))
        except OverflowError:
            continue
    return _pack_wide(hist)


def _pack_wide(hist: dict[int, int]) -> bytes:
    flat = array("q")
    for day, count in hist.items():
        flat.append(day)
        flat.append(count)
    return WIDE + flat.tobytes()


def unpack_hist(packed: bytes | memoryview) -> list[tuple[int, int]]:
    if not packed:
        return []
    code = _BLOCKS.get(packed[0])
    if code is None:
        if packed[0] != WIDE[0]:
            raise ValueError("a day histogram of an unknown form")
        flat = array("q")
        flat.frombytes(packed[1:])
        return list(zip(flat[::2], flat[1::2], strict=True))
    days, counts = array(_DAYS), array(code)
    split = 1 + (len(packed) - 1) // (days.itemsize + counts.itemsize) * days.itemsize
    days.frombytes(packed[1:split])
    counts.frombytes(packed[split:])
    return list(zip(days, counts, strict=True))


def _note(problems: list, directory: str, path: str, err: OSError) -> None:
    # The directory whose listing met the problem, so a quick rescan that reuses that
    # listing can carry the problem over.
    if len(problems) < MAX_PROBLEMS:
        problems.append((directory, path, err.strerror or str(err)))
