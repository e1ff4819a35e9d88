"""Preflight: what the target filesystem cannot hold, found by trying it there.

A table of filesystem types only guesses (ext4 made with 128-byte inodes keeps whole
seconds, ext4 with 1 KiB blocks holds about 1 KiB of attributes per inode, xfs takes
symlink texts of at most 1 KiB): so the source's hardest cases are tried on the target
itself, in a probe directory that is removed again, with the directory's times given
back. Each check names the first entry of the source (in copy order) that would not
fit, before the server is stopped, instead of a copy that fails or a verification that
refuses hours later.

A limit is found with few probes: "does it fit" is monotone in the measure (a time's
precision, the bytes of an entry's attributes, a symlink's length), so the largest
value is tried first and, if it does not fit, a binary search finds where fitting ends.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator

from omero_tui.core.relocation.checks import Check, fail, passed, warn
from omero_tui.core.relocation.metadata import ACL_PREFIX, MetadataCopier
from omero_tui.core.relocation.plan import RelocationPlan
from omero_tui.core.relocation.preflight_target import times_kept
from omero_tui.core.relocation.tree_scan import PATH_MAX, Entry, TreeScan

PROBE_PREFIX = ".omero-tui-probe-"
PROBE_TIME_NS = 1_600_000_000_123_456_789  # every digit set: any rounding shows
GRANULARITIES_NS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10**7, 10**8, 10**9, 2 * 10**9)
_TOO_BIG = {errno.ENOSPC, errno.E2BIG, errno.ERANGE}


def fit_checks(plan: RelocationPlan, scan: TreeScan, where: str) -> list[Check]:
    """Every check of what the target filesystem (the one ``where`` is on) cannot hold."""
    checks = source_path_checks(plan, scan) + owner_checks(plan, scan)
    try:
        with times_kept(where), probe_dir(where) as probe:
            tries = Probe(probe, plan)
            checks.append(tries.times(scan))
            checks += tries.attributes(scan)
            checks.append(tries.symlinks(scan))
    except OSError as err:
        checks.append(
            warn(
                "relocation.target_probe",
                f"could not try what {plan.target}'s filesystem holds "
                f"({err.strerror or err}); times, attributes and long symlinks are unchecked",
                where,
            )
        )
    return checks


def source_path_checks(plan: RelocationPlan, scan: TreeScan) -> list[Check]:
    if not scan.too_long:
        return []
    rel = scan.too_long[0]
    return [
        fail(
            "relocation.source_path_too_long",
            f"{_source(plan, rel)} has a path longer than the {PATH_MAX - 1} bytes Linux "
            f"allows (PATH_MAX), so it cannot be copied by name"
            f"{f' ({len(scan.too_long)} such entries)' if len(scan.too_long) > 1 else ''}; "
            "shorten its directory names first",
            plan.source,
        )
    ]


def owner_checks(plan: RelocationPlan, scan: TreeScan) -> list[Check]:
    """Only root gives files away: a run as anyone else keeps owners only if they are its
    own, and a copy with another owner or group is other access."""
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return []
    mine = {os.getegid(), *os.getgroups()}
    foreign = next((e for e in scan.entries if e.uid != os.geteuid() or e.gid not in mine), None)
    if foreign is None:
        return []
    return [
        fail(
            "relocation.owners_need_root",
            f"{_source(plan, foreign.rel)} belongs to {foreign.uid}:{foreign.gid}, and only "
            "root can give the copy that owner and group; run the relocation as root",
            plan.source,
        )
    ]


@contextlib.contextmanager
def probe_dir(where: str) -> Iterator[str]:
    path = os.path.join(where, f"{PROBE_PREFIX}{secrets.token_hex(4)}")
    os.mkdir(path, 0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def first_misfit(
    entries: list[Entry], measure: Callable[[Entry], int], fits: Callable[[Entry], bool]
) -> Entry | None:
    """The first of ``entries`` that will not fit, trying one entry per distinct measure,
    largest first, then by halves; None when the largest fits."""
    example: dict[int, Entry] = {}
    for entry in entries:
        example.setdefault(measure(entry), entry)
    values = sorted(example)
    if not values or fits(example[values[-1]]):
        return None
    fitting, failing = -1, len(values) - 1  # indices: values[failing] was tried, in vain
    while failing - fitting > 1:
        middle = (fitting + failing) // 2
        if fits(example[values[middle]]):
            fitting = middle
        else:
            failing = middle
    limit = values[failing]
    return next(e for e in entries if measure(e) >= limit)


class Probe:
    def __init__(self, directory: str, plan: RelocationPlan) -> None:
        self.directory = directory
        self.plan = plan
        self.count = 0

    def _path(self) -> str:
        self.count += 1
        return os.path.join(self.directory, str(self.count))

    # ------------------------------------------------------------------ times

    def times(self, scan: TreeScan) -> Check:
        path = self._path()
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        step = self._granularity(path)
        if step is None:
            return fail(
                "relocation.target_times",
                f"{self.plan.target}'s filesystem does not keep modification times as set "
                f"({PROBE_TIME_NS} ns came back as {_mtime(path)} ns)",
                self.plan.target,
            )
        coarse = next((e for e in scan.entries if e.mtime_ns % step), None)
        if coarse is not None:
            return fail(
                "relocation.target_times",
                f"{self.plan.target}'s filesystem keeps times to {_step_text(step)} only, so "
                f"{self._name(coarse)} would lose its modification time "
                f"({_time_text(coarse.mtime_ns)}); ext4 made with 128-byte inodes "
                "(mkfs.ext4 -I 128) is one such filesystem",
                self.plan.target,
            )
        out_of_range = self._range(path, scan.entries)
        if out_of_range is not None:
            return fail(
                "relocation.target_times",
                f"{self.plan.target}'s filesystem cannot hold the modification time of "
                f"{self._name(out_of_range)} ({_time_text(out_of_range.mtime_ns)}); "
                "ext4 with 128-byte inodes ends in 2038",
                self.plan.target,
            )
        return passed(
            "relocation.target_times",
            f"the target keeps times to {_step_text(step)}, as every source entry needs",
        )

    def _granularity(self, path: str) -> int | None:
        os.utime(path, ns=(PROBE_TIME_NS, PROBE_TIME_NS))
        back = _mtime(path)
        return next(
            (g for g in GRANULARITIES_NS if PROBE_TIME_NS - PROBE_TIME_NS % g == back), None
        )

    def _range(self, path: str, entries: tuple[Entry, ...]) -> Entry | None:
        def kept(entry: Entry) -> bool:
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))
            return _mtime(path) == entry.mtime_ns

        listed = list(entries)
        late = first_misfit(listed, lambda e: e.mtime_ns, kept)
        early = first_misfit(listed, lambda e: -e.mtime_ns, kept)
        found = [e for e in (late, early) if e is not None]
        return min(found, key=listed.index) if found else None

    # ------------------------------------------------------------- attributes

    def attributes(self, scan: TreeScan) -> list[Check]:
        carriers = [e for e in scan.entries if e.compared_xattrs and e.kind != "hardlink"]
        if not carriers:
            return []
        refused = self._refused_names(carriers)
        if refused is not None:
            return [refused]
        too_big = first_misfit(carriers, _xattr_bytes, self._xattrs_fit)
        if too_big is not None:
            return [
                fail(
                    "relocation.target_xattr_size",
                    f"{self.plan.target}'s filesystem has no room for the "
                    f"{_xattr_bytes(too_big)} bytes of extended attributes (ACLs included) "
                    f"of {self._name(too_big)}; ext4 with 1 KiB blocks (mkfs.ext4 -b 1024) "
                    "holds about 1 KiB per file",
                    self.plan.target,
                )
            ]
        return [
            passed(
                "relocation.target_xattrs",
                f"the target takes the extended attributes and ACLs of all {len(carriers)} "
                "source entries that have them",
            )
        ]

    def _refused_names(self, carriers: list[Entry]) -> Check | None:
        """The first entry holding an attribute the target does not take at all."""
        first_with: dict[str, Entry] = {}
        for entry in carriers:
            for name, _ in entry.compared_xattrs:
                first_with.setdefault(name, entry)
        for name, entry in sorted(first_with.items(), key=lambda item: carriers.index(item[1])):
            single = entry._replace(xattrs=((name, dict(entry.xattrs)[name]),))
            meta = MetadataCopier()
            try:
                self._apply(single, meta)
            except OSError as err:
                if err.errno in _TOO_BIG:
                    continue  # a question of size, asked next
                raise
            if not meta.dropped.items:
                continue
            if name.startswith(ACL_PREFIX):
                return fail(
                    "relocation.target_acl",
                    f"{self.plan.target}'s filesystem does not take POSIX ACLs (not "
                    f"supported, or mounted with noacl), and {self._name(entry)} has one: "
                    "who may read and write there would change",
                    self.plan.target,
                )
            return fail(
                "relocation.target_xattr",
                f"{self.plan.target}'s filesystem does not take the extended attribute "
                f"{name} that {self._name(entry)} has",
                self.plan.target,
            )
        return None

    def _xattrs_fit(self, entry: Entry) -> bool:
        try:
            self._apply(entry, MetadataCopier())
        except OSError as err:
            if err.errno in _TOO_BIG:
                return False
            raise
        return True

    def _apply(self, entry: Entry, meta: MetadataCopier) -> None:
        """Give a fresh probe entry of ``entry``'s kind its attributes, as the copy would."""
        path = self._path()
        compared = entry._replace(xattrs=entry.compared_xattrs)
        if entry.kind == "dir":
            os.mkdir(path, 0o700)
        elif entry.kind == "symlink":
            os.symlink("probe", path)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            meta.set_xattrs(path, compared, follow=entry.kind != "symlink")
        finally:
            if entry.kind == "dir":
                os.rmdir(path)
            else:
                os.unlink(path)

    # --------------------------------------------------------------- symlinks

    def symlinks(self, scan: TreeScan) -> Check:
        links = [e for e in scan.entries if e.kind == "symlink" and e.link]
        if not links:
            return passed("relocation.target_symlinks", "the source has no symlinks")

        def fits(entry: Entry) -> bool:
            path = self._path()
            try:
                os.symlink(entry.link or "", path)
            except OSError as err:
                if err.errno == errno.ENAMETOOLONG:
                    return False
                raise
            os.unlink(path)
            return True

        too_long = first_misfit(links, _link_bytes, fits)
        if too_long is not None:
            return fail(
                "relocation.target_symlink_length",
                f"{self.plan.target}'s filesystem refuses a symlink text of "
                f"{_link_bytes(too_long)} bytes (File name too long), and "
                f"{self._name(too_long)} has one; xfs takes at most 1024",
                self.plan.target,
            )
        longest = max(_link_bytes(e) for e in links)
        return passed(
            "relocation.target_symlinks",
            f"the target takes the longest symlink text of the source ({longest} bytes)",
        )

    def _name(self, entry: Entry) -> str:
        return _source(self.plan, entry.rel)


def _source(plan: RelocationPlan, rel: str) -> str:
    return os.path.join(plan.source, rel) if rel and rel != "." else plan.source


def _xattr_bytes(entry: Entry) -> int:
    return sum(len(name.encode()) + len(value) for name, value in entry.compared_xattrs)


def _link_bytes(entry: Entry) -> int:
    return len(os.fsencode(entry.link or ""))


def _mtime(path: str) -> int:
    return os.stat(path).st_mtime_ns


def _step_text(step: int) -> str:
    if step == 1:
        return "the nanosecond"
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if step >= size:
            return f"{step / size:g} {unit}"
    return f"{step} ns"


def _time_text(ns: int) -> str:
    seconds, rest = divmod(ns, 10**9)
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns"
    return f"{stamp}.{rest:09d} UTC"
