"""Can the server's user read, write and traverse its repository? One row per directory.

The rows are the data dir, the subdirectories the server uses (the standard ones,
DropBox and the hidden ``.omero`` identity the server locks), the managed dir when it
lives elsewhere, and every directory above any of them up to ``/`` (each of which the
server must be able to enter; symlinked subdirectories bring their targets'
ancestors). Everything is judged for the server user's uid and groups, never for the
console's own user, which is often root and can do anything.

``omero admin start`` only checks that the data dir is readable: a repository the
server cannot write makes it run read-only without a word, which is why a missing
write right is CRITICAL here.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable, Sequence

from omero_tui.core.discovery import ServerLocation, windows_not_judged
from omero_tui.core.perms.access import (
    Access,
    AclEntry,
    AclTag,
    R,
    W,
    X,
    ancestors_of,
    depth_key,
    effective_access,
    is_read_only_fs,
    mode_string,
    path_blocked_at,
    perm_text,
    read_acl,
    remembering_realpath,
)
from omero_tui.core.perms.findings import row_findings, row_problems, summary_findings
from omero_tui.core.perms.model import IDENTITY, USED_SUBDIRS, DirAccess, PermsReport
from omero_tui.core.perms.server_user import (
    ServerUser,
    UserDecision,
    determine_server_user,
    group_names,
)
from omero_tui.core.record import replace

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.perms.deep import DeepProgress, DeepResult


def check_permissions(
    location: ServerLocation,
    decision: UserDecision,
    *,
    deep: DeepResult | None = None,
) -> PermsReport:
    """Look at every directory the server needs, for the decided user. Never raises."""
    user = decision.user
    if location.on_windows_paths:  # not on this disk: no row may stand for it
        note = windows_not_judged(location, "permissions")
        return PermsReport(
            location, user, decision.processes, (), (*decision.findings, note), note.message
        )
    repo_paths = repository_paths(location)
    rows = [inspect_dir(label, path, "repository", user) for label, path in repo_paths]
    # Real paths: a symlinked data dir's target is a repository row, not an ancestor.
    repo_set = {os.path.realpath(p) for _, p in repo_paths}
    realpath = remembering_realpath()  # the repository dirs share their ancestors
    ancestors: dict[str, None] = {}
    for _, path in repo_paths:
        for ancestor in ancestors_of(path, realpath):
            if ancestor not in repo_set:
                ancestors[ancestor] = None
    above = [inspect_dir(a, a, "ancestor", user) for a in sorted(ancestors, key=depth_key)]
    managed_real = os.path.realpath(location.managed_dir.value or "")
    all_rows = tuple(
        replace(row, problems=row_problems(row, user, managed_real))
        for row in _through_the_path([*above, *rows], realpath)
    )
    findings = list(decision.findings)
    findings += row_findings(all_rows, user)
    verdict, closing = summary_findings(all_rows, user, findings, deep)
    findings += closing
    return PermsReport(
        location=location,
        user=user,
        processes=decision.processes,
        rows=all_rows,
        findings=tuple(findings),
        verdict=verdict,
        deep=deep,
        platform="windows" if sys.platform == "win32" else "posix",
    )


def _through_the_path(
    rows: list[DirAccess], realpath: Callable[[str], str] = os.path.realpath
) -> list[DirAccess]:
    """Effective access: nothing below a directory the user cannot enter is usable,
    which is what the kernel (and ``runuser -u USER -- test -r PATH``) says."""
    enterable = {realpath(r.path): r.traverse for r in rows if r.present}
    result = []
    for row in rows:
        on_the_way = ancestors_of(row.path, realpath)
        blocker = next((a for a in on_the_way if not enterable.get(a, True)), None)
        if blocker is not None:
            row = replace(
                row, read=False, write=False, traverse=False, create=False, blocked_by=blocker
            )
        result.append(row)
    return result


def repository_paths(location: ServerLocation) -> list[tuple[str, str]]:
    """(label, path) of every repository directory the server uses, data dir first."""
    data = os.path.normpath(location.data_dir.value or "")
    managed = os.path.normpath(
        location.managed_dir.value or os.path.join(data, "ManagedRepository")
    )
    paths = [("data dir", data)]
    for name in USED_SUBDIRS:
        path = os.path.join(data, name)
        if os.path.isdir(path):
            paths.append((name, path))
    paths += _identity_dirs(data, prefix="")
    if os.path.realpath(managed) != os.path.realpath(os.path.join(data, "ManagedRepository")):
        paths.append(("managed dir", managed))
    # The managed dir keeps its own identity, which the server locks too.
    if os.path.realpath(managed) != os.path.realpath(data):
        paths += _identity_dirs(managed, prefix="managed/")
    return paths


def _identity_dirs(root: str, prefix: str) -> list[tuple[str, str]]:
    """``.omero/repository`` and each ``<db-uuid>`` below it: the server writes .lock there."""
    base = os.path.join(root, *IDENTITY)
    if not os.path.isdir(base):
        return []
    found = [(f"{prefix}.omero/repository", base)]
    try:
        names = sorted(e.name for e in os.scandir(base) if e.is_dir(follow_symlinks=False))
    except OSError:
        return found
    for name in names:
        found.append((f"{prefix}.omero/repository/{name[:8]}…", os.path.join(base, name)))
    if prefix:  # the data dir's .omero is already a row, as one of its subdirectories
        found.insert(0, (f"{prefix}.omero", os.path.join(root, ".omero")))
    return found


def inspect_dir(
    label: str,
    path: str,
    kind: str,
    user: ServerUser,
    *,
    stat_fn: Callable[[str], os.stat_result] = os.stat,
) -> DirAccess:
    try:
        st = stat_fn(path)
    except FileNotFoundError:
        return _absent(label, path, kind, None)
    except OSError as err:
        return _absent(label, path, kind, err.strerror or str(err))
    try:
        acl = read_acl(path)
    except (OSError, ValueError) as err:
        return _absent(label, path, kind, f"cannot read its ACL: {err}")
    read_only = is_read_only_fs(path)
    access = effective_access(st, acl, user.identity, read_only_fs=read_only)
    acl_text = tuple(_acl_text(e) for e in acl) if acl else ()
    return DirAccess(
        label=label,
        path=path,
        kind=kind,
        present=stat.S_ISDIR(st.st_mode),
        owner=_user_name(st.st_uid),
        group=_group_name(st.st_gid),
        uid=st.st_uid,
        gid=st.st_gid,
        mode=mode_string(st, bool(acl)),
        mode_bits=stat.S_IMODE(st.st_mode),
        acl=acl_text,
        read=access.read,
        write=access.write,
        traverse=access.traverse,
        via=access.via,
        create=access.create,
        read_only_fs=read_only,
        error=None if stat.S_ISDIR(st.st_mode) else "not a directory",
        group_writable=_group_writable(st.st_mode, acl),
        own=perm_text(
            (R if access.read else 0) | (W if access.write else 0) | (X if access.traverse else 0)
        ),
    )


def _group_writable(mode: int, acl: tuple[AclEntry, ...] | None) -> bool:
    if not acl:
        return bool(mode & 0o020)
    mask = next((e.perms for e in acl if e.tag == AclTag.MASK), 7)
    groups = (AclTag.GROUP_OBJ, AclTag.GROUP)
    return any(e.tag in groups and e.perms & mask & W for e in acl)


def _absent(label: str, path: str, kind: str, error: str | None) -> DirAccess:
    return DirAccess(
        label, path, kind, False, "-", "-", -1, -1, "-", 0, (), False, False, False, "-",
        error=error,
    )  # fmt: skip


def _acl_text(entry: AclEntry) -> str:
    if entry.qualifier is None:
        return entry.text()
    lookup = _user_name if entry.tag == AclTag.USER else _group_name
    return entry.text({entry.qualifier: lookup(entry.qualifier)})


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group_name(gid: int) -> str:
    return group_names([gid])[0]


def deep_roots(location: ServerLocation) -> list[str]:
    """Where the deep check walks: the data dir, the managed dir when it is elsewhere, and
    the target of every symlinked subdirectory (the walk does not follow links)."""
    data = os.path.normpath(location.data_dir.value or "")
    roots: list[str] = []
    covered: list[str] = []
    found = [(os.path.realpath(path), path) for _, path in repository_paths(location)]
    for real, path in sorted(found, key=lambda pair: len(pair[0])):  # outer trees first
        if not os.path.isdir(real) or any(_contains(top, real) for top in covered):
            continue
        roots.append(path if path == data else real)
        covered.append(real)
    return roots


def _contains(top: str, path: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def inspect_permissions(
    location: ServerLocation,
    *,
    user: str | None = None,
    settings_user: str | None = None,
    settings_path: str | None = None,
    deep: bool = False,
    walk: Sequence[str] | None = None,
    progress: Callable[[DeepProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> PermsReport:
    """The whole look: who the server user is, the rows, and the deep walk when asked
    (of ``walk``, one subdirectory say, or by default the whole repository).

    Raises UnknownUserError when ``user`` (the admin's pick) does not exist.
    """
    if sys.platform == "win32":
        from omero_tui.core.perms.server_user import current_user_name
        from omero_tui.core.perms.windows import check_permissions_windows, windows_user

        if user:
            chosen = windows_user(user, "chosen", f"{user} was chosen by the admin")
        elif settings_user:
            chosen = windows_user(settings_user, "settings", "server.user in the settings file")
        else:
            name = current_user_name()
            chosen = windows_user(name, "current user", "the user running this console")
        return check_permissions_windows(location, chosen)
    decision = determine_server_user(
        location, chosen=user, settings_user=settings_user, settings_path=settings_path
    )
    result = None
    if deep and not location.on_windows_paths:  # never walk D:\\OMERO joined to the cwd
        from omero_tui.core.perms.deep import deep_check  # here: only --deep walks

        roots = list(walk) if walk else deep_roots(location)
        result = deep_check(roots, decision.user.identity, progress=progress, cancel=cancel)
    return check_permissions(location, decision, deep=result)


def path_access(path: str, user: ServerUser) -> Access:
    """Effective access to one path, the walk to it included (what ``test -r`` answers)."""
    try:
        st = os.stat(path)
        acl = read_acl(path)
    except (OSError, ValueError):
        return Access(False, False, False, "cannot look")
    blocker = path_blocked_at(path, user.identity)
    if blocker is not None:
        return Access(False, False, False, f"cannot enter {blocker}")
    return effective_access(st, acl, user.identity, read_only_fs=is_read_only_fs(path))
