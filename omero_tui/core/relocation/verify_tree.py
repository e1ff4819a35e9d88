"""Compare a copied tree with its source, entry by entry: nothing missing, nothing extra.

Contents were already compared byte for byte batch by batch while copying; this pass
checks what the last steps set (directory modes and times) and the shape of the whole
tree: names, kinds, sizes, owners, modes, ACLs and other extended attributes,
nanosecond modification times, symlink texts and which names share an inode. It only
stats and reads attributes, so it is quick even for millions of files.

"All entries match" is said only when every one of these does: a copy on which any
user or group would get other rights than on the source is a difference, named.
"""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Collection

from omero_tui.core.findings import counted
from omero_tui.core.record import frozen
from omero_tui.core.relocation.progress import Progress
from omero_tui.core.relocation.tree_scan import Entry, TreeScan, scan_tree
from omero_tui.core.relocation.verify_access import xattr_differences

MAX_LISTED = 20


@frozen
class Difference:
    rel: str
    what: str  # one line: "missing", "mode 0755, the source has 0750", ...


@frozen
class TreeComparison:
    differences: tuple[Difference, ...]  # at most MAX_LISTED
    total: int  # how many there are in all
    compared: int

    @property
    def identical(self) -> bool:
        return self.total == 0

    def summary(self) -> str:
        if self.identical:
            return f"all {counted(self.compared, 'entry')} match the source"
        shown = "; ".join(f"{d.rel or '.'}: {d.what}" for d in self.differences[:3])
        return f"{counted(self.total, 'difference')} from the source, e.g. {shown}"


def compare_trees(
    source: TreeScan,
    target_root: str,
    *,
    ignore: Collection[str] = (),
    owners: bool = True,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> TreeComparison:
    """Scan ``target_root`` and compare it with ``source``.

    ``ignore``: rel paths present in the target that are not part of the copy (its own
    journal, a ``lost+found`` that was there before). Owners are compared too: another
    owner or group is other access (a run that is not root is refused by the preflight
    when it could not keep them).
    """
    target = scan_tree(target_root, progress, cancel, step="verify")
    wanted = {e.rel: e for e in source.entries}
    found = {e.rel: e for e in target.entries if not _ignored(e.rel, ignore)}
    diffs: list[Difference] = []
    total = 0

    def add(rel: str, what: str) -> None:
        nonlocal total
        total += 1
        if len(diffs) < MAX_LISTED:
            diffs.append(Difference(rel, what))

    for rel, want in wanted.items():
        got = found.get(rel)
        if got is None:
            add(rel, "missing from the copy")
            continue
        for what in entry_differences(want, got, owners=owners):
            add(rel, what)
    for rel in found.keys() - wanted.keys():
        add(rel, "in the copy but not in the source")
    return TreeComparison(tuple(diffs), total, len(wanted))


def _ignored(rel: str, ignore: Collection[str]) -> bool:
    return any(rel == top or rel.startswith(top + "/") for top in ignore)


def entry_differences(want: Entry, got: Entry, *, owners: bool) -> list[str]:
    kinds = {want.kind, got.kind}
    if want.kind != got.kind and kinds != {"file", "hardlink"}:
        return [f"a {got.kind}, the source has a {want.kind}"]
    out = []
    want_mode, got_mode = stat.S_IMODE(want.mode), stat.S_IMODE(got.mode)
    if want_mode != got_mode and want.kind != "symlink":
        out.append(f"mode {got_mode:04o}, the source has {want_mode:04o}")
    if owners and (want.uid, want.gid) != (got.uid, got.gid):
        out.append(f"owner {got.uid}:{got.gid}, the source has {want.uid}:{want.gid}")
    if want.kind != "dir" and want.size != got.size:
        out.append(f"{got.size} bytes, the source has {want.size}")
    if want.mtime_ns != got.mtime_ns:
        out.append(f"modified at {got.mtime_ns} ns, the source at {want.mtime_ns} ns")
    if want.kind == "symlink" and want.link != got.link:
        out.append(f"points to {got.link}, the source to {want.link}")
    if want.kind == "hardlink" and want.link != got.link:
        out.append(f"not a hard link of {want.link}")
    if want.kind == "file" and got.kind == "hardlink":
        out.append(f"shares its inode with {got.link}, the source does not")
    out += xattr_differences(want, got)
    return out
