"""Fix, re-check, undo: on real trees, for real scratch users, against the kernel.

``--fix`` must leave the server user able to use every entry (checked with
``runuser ... test``), and the undo must put back every owner, group, mode and ACL
exactly as it was.
"""

from __future__ import annotations

import grp
import os
import shlex
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.discovery import discover
from omero_tui.core.findings import Severity, worst
from omero_tui.core.perms import apply as perms_apply
from omero_tui.core.perms.access import ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR
from omero_tui.core.perms.apply import ApplyRefused, apply_fix
from omero_tui.core.perms.check import PermsReport, inspect_permissions
from omero_tui.core.perms.fix import plan_fix
from omero_tui.core.perms.undo import latest_record, undo_last
from tests.core.test_access_ground_truth import (
    Scratch,
    has_setfacl,
    make,
    scratch_users,
    setfacl,
    truth,
    truths,
)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


def repo_tree(root: Path, owner: str, group: str, dmode: int = 0o755, fmode: int = 0o644) -> Path:
    """A small repository: the standard subdirectories, nested filesets, the identity."""
    make(root, owner, group, dmode)
    for sub in ("Pixels", "Files", "Thumbnails", "FullText", "ManagedRepository", ".omero"):
        make(root / sub, owner, group, dmode)
    make(root / ".omero" / "repository", owner, group, dmode)
    ident = make(root / ".omero" / "repository" / "0f3c", owner, group, dmode)
    make(ident / "repo_uuid", owner, group, fmode, is_dir=False)
    for n in range(3):
        make(root / "Pixels" / str(n), owner, group, fmode, is_dir=False)
    fileset = root / "ManagedRepository" / "user-3_3" / "2026-01" / "02"
    for part in (fileset.parent.parent, fileset.parent, fileset):
        make(part, owner, group, dmode)
    make(fileset / "img.tif", owner, group, fmode, is_dir=False)
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry's owner, group, mode and ACLs: what an undo must restore exactly."""
    states = {}
    for directory, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = os.path.normpath(os.path.join(directory, name))
            st = os.lstat(path)
            acls = []
            for attr in (ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR):
                try:
                    acls.append(os.getxattr(path, attr, follow_symlinks=False))
                except OSError:
                    acls.append(None)
            states[path] = (st.st_uid, st.st_gid, st.st_mode, *acls)
    return states


def check(data: Path, user: str, deep: bool = True) -> PermsReport:
    location = discover(data_dir_arg=str(data), env={}, candidates=[])
    return inspect_permissions(location, user=user, deep=deep)


def every_entry_usable(root: Path, user: str) -> list[str]:
    """Entries the kernel says the user cannot use (files: rw, dirs: rwx)."""
    needs = {}
    for directory, dirs, files in os.walk(root):
        needs[directory] = "rwx"
        needs.update({os.path.join(directory, d): "rwx" for d in dirs})
        needs.update({os.path.join(directory, f): "rw" for f in files})
    kernel = truths(user, list(needs))
    return [p for p, need in needs.items() if not all(c in kernel[p] for c in need)]


def fix_and_recheck(data: Path, user: str, state: Path) -> tuple[PermsReport, PermsReport]:
    before = check(data, user)
    plan = plan_fix(before)
    assert plan.cannot_apply is None
    assert_never_world_writable(plan.commands)
    result = apply_fix(plan, state_dir=state)
    assert (result.failed_total, result.cancelled) == (0, False)
    return before, check(data, user)


def assert_never_world_writable(commands: tuple[str, ...]) -> None:
    for command in commands:
        assert "777" not in command and "o+w" not in command and "a+w" not in command


def test_a_tree_owned_by_root_is_chowned_then_undone_exactly(
    scratch: Scratch, tmp_path: Path
) -> None:
    data = repo_tree(scratch.base / "root-owned", "root", "root")
    original = snapshot(data)
    before = check(data, scratch.user)
    assert worst(before.findings) is Severity.CRITICAL
    assert "perms.not_writable" in {f.code for f in before.findings}
    plan = plan_fix(before)
    assert plan.commands == (f"chown -R {scratch.user}:{scratch.user} {data}",)

    _, after = fix_and_recheck(data, scratch.user, tmp_path)
    assert worst(after.findings) is Severity.OK, after.findings
    assert after.deep is not None and after.deep.problems_total == 0
    assert every_entry_usable(data, scratch.user) == []

    result = undo_last(tmp_path)
    assert result.failed_total == 0 and result.restored == len(original)
    assert snapshot(data) == original
    assert latest_record(tmp_path) is None  # undone records are kept, renamed


def test_owner_without_write_bits_gets_chmod_only(scratch: Scratch, tmp_path: Path) -> None:
    data = repo_tree(scratch.base / "read-only-modes", scratch.user, scratch.user, 0o555, 0o444)
    original = snapshot(data)
    before, after = fix_and_recheck(data, scratch.user, tmp_path)
    assert plan_fix(before).commands == (f"chmod -R u+rwX {data}",)
    assert worst(after.findings) is Severity.OK
    assert every_entry_usable(data, scratch.user) == []
    # rwX: files got no execute bit.
    assert os.stat(data / "Pixels" / "0").st_mode & 0o111 == 0
    undo_last(tmp_path)
    assert snapshot(data) == original


def test_a_closed_ancestor_gets_search_for_others_only(scratch: Scratch, tmp_path: Path) -> None:
    closed = make(scratch.base / "closed", "root", "root", 0o750)
    data = repo_tree(closed / "OMERO", scratch.user, scratch.user)
    original = snapshot(closed)
    before = check(data, scratch.user, deep=False)
    codes = {f.code for f in before.findings}
    assert "perms.ancestor_not_traversable" in codes
    assert truth(scratch.user, data) == "---"
    plan = plan_fix(before)
    assert plan.commands == (f"chmod o+x {closed}",)
    apply_fix(plan, state_dir=tmp_path)
    assert truth(scratch.user, data) == "rwx"
    assert worst(check(data, scratch.user).findings) is Severity.OK
    undo_last(tmp_path)
    assert snapshot(closed) == original


def test_acls_in_use_are_extended_with_setfacl_and_restored(
    scratch: Scratch, tmp_path: Path
) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL fix not checked")
    data = repo_tree(scratch.base / "acl", scratch.other, scratch.foreign, 0o750, 0o640)
    setfacl("-R", "-m", f"g:{scratch.foreign}:r-X", str(data))  # an ACL site, not for us
    original = snapshot(data)
    before = check(data, scratch.user)
    plan = plan_fix(before)
    assert plan.commands == (
        f"setfacl -R -m u:{scratch.user}:rwX {data}",
        f"setfacl -R -d -m u:{scratch.user}:rwX {data}",
    )
    assert apply_fix(plan, state_dir=tmp_path).failed_total == 0
    assert every_entry_usable(data, scratch.user) == []
    after = check(data, scratch.user)
    assert worst(after.findings) is Severity.OK, after.findings
    # New files made by others inherit the server user's entry (the default ACL).
    new = data / "ManagedRepository" / "new-import"
    new.mkdir()
    assert truth(scratch.user, new) == "rwx"
    new.rmdir()
    undo_last(tmp_path)
    assert snapshot(data) == original


def test_hygiene_steps_take_world_write_and_add_setgid(scratch: Scratch, tmp_path: Path) -> None:
    data = repo_tree(scratch.base / "hygiene", scratch.user, scratch.user)
    os.chmod(data / "Thumbnails", 0o777)
    managed = data / "ManagedRepository"
    os.chown(managed, -1, grp.getgrnam(scratch.group).gr_gid)
    os.chmod(managed, 0o775)
    report = check(data, scratch.user, deep=False)
    codes = {f.code for f in report.findings}
    assert {"perms.world_writable", "perms.managed_no_setgid"} <= codes
    plan = plan_fix(report)
    assert set(plan.commands) == {f"chmod o-w {data / 'Thumbnails'}", f"chmod g+s {managed}"}
    assert_never_world_writable(plan.commands)
    apply_fix(plan, state_dir=tmp_path)
    assert worst(check(data, scratch.user, deep=False).findings) is Severity.OK
    assert os.stat(managed).st_mode & 0o2000


def test_cancel_leaves_a_tree_the_undo_restores(
    scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = repo_tree(scratch.base / "cancel", "root", "root")
    original = snapshot(data)
    plan = plan_fix(check(data, scratch.user, deep=False))
    cancel = threading.Event()
    seen = []

    def progress(p) -> None:  # noqa: ANN001
        seen.append(p)
        if p.changed >= 4:
            cancel.set()

    # Small batches and unthrottled reports, so a tiny tree is cancelled half way.
    monkeypatch.setattr(perms_apply, "BATCH", 2)
    monkeypatch.setattr(perms_apply, "PROGRESS_INTERVAL_S", 0.0)
    result = apply_fix(plan, state_dir=tmp_path, progress=progress, cancel=cancel)
    assert result.cancelled
    assert 0 < result.changed < len(original)
    assert seen
    undo_last(tmp_path)
    assert snapshot(data) == original


def test_only_root_may_apply_a_chown(scratch: Scratch, tmp_path: Path) -> None:
    data = repo_tree(scratch.base / "refuse", "root", "root")
    plan = plan_fix(check(data, scratch.user, deep=False), euid=1000)
    assert plan.cannot_apply and "root" in plan.cannot_apply
    with pytest.raises(ApplyRefused):
        apply_fix(plan, state_dir=tmp_path)
    assert latest_record(tmp_path) is None


def test_a_root_server_needs_no_plan(scratch: Scratch) -> None:
    data = repo_tree(scratch.base / "as-root", scratch.other, scratch.other, 0o700, 0o600)
    report = check(data, "root")
    assert worst(report.findings) is Severity.OK
    assert "root, which can read and write everything" in report.verdict
    assert plan_fix(report).steps == ()


def test_a_symlinked_subdirectory_gets_its_own_steps_and_undo(
    scratch: Scratch, tmp_path: Path
) -> None:
    """``chown -R`` and the applied walk do not cross a symlink: the target needs a step."""
    data = repo_tree(scratch.base / "sym-data", "root", "root")
    elsewhere = make(scratch.base / "sym-volume", "root", "root", 0o755)
    pixels = repo_tree(elsewhere / "Pixels", "root", "root", 0o750, 0o640)
    for entry in (data / "Pixels").iterdir():
        entry.unlink()
    (data / "Pixels").rmdir()
    (data / "Pixels").symlink_to(pixels)
    original = {**snapshot(data), **snapshot(elsewhere)}
    before = check(data, scratch.user)
    assert str(pixels) in before.deep.roots  # the walk covers the linked tree too
    plan = plan_fix(before)
    assert set(plan.commands) == {
        f"chown -R {scratch.user}:{scratch.user} {data}",
        f"chown -R {scratch.user}:{scratch.user} {pixels}",
    }
    assert apply_fix(plan, state_dir=tmp_path).failed_total == 0
    after = check(data, scratch.user)
    assert worst(after.findings) is Severity.OK, after.findings
    assert every_entry_usable(pixels, scratch.user) == []
    assert undo_last(tmp_path).failed_total == 0
    assert {**snapshot(data), **snapshot(elsewhere)} == original


def test_two_group_entries_that_cannot_create_are_fixed(scratch: Scratch, tmp_path: Path) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL fix not checked")
    data = repo_tree(scratch.base / "split-groups", scratch.user, scratch.user)
    thumbs = make(data / "Thumbnails", scratch.other, scratch.foreign, 0o700)
    # w from one of the user's groups, x from another: test -w and -x both pass.
    setfacl("-m", f"g:{scratch.group}:rw-,g:{scratch.user}:r-x", str(thumbs))
    original = snapshot(data)
    report = check(data, scratch.user, deep=False)
    row = next(r for r in report.rows if r.path == str(thumbs))
    assert (row.write, row.traverse, row.create) == (True, True, False)
    assert truth(scratch.user, thumbs) == "rwx"
    assert "perms.cannot_create" in row.problems
    plan = plan_fix(report)
    assert plan.commands == (
        f"setfacl -R -m u:{scratch.user}:rwX {thumbs}",
        f"setfacl -R -d -m u:{scratch.user}:rwX {thumbs}",
    )
    assert apply_fix(plan, state_dir=tmp_path).failed_total == 0
    probe = thumbs / "new"
    subprocess.run(["runuser", "-u", scratch.user, "--", "mkdir", str(probe)], check=True)
    probe.rmdir()
    assert worst(check(data, scratch.user).findings) is Severity.OK
    undo_last(tmp_path)
    assert snapshot(data) == original


def test_an_acl_ancestor_gets_search_without_widening_its_mask(
    scratch: Scratch, tmp_path: Path
) -> None:
    """The applied change is the shown command's, and gives others nothing the mask held."""
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL fix not checked")
    twins = []
    for name in ("applied", "typed"):
        above = make(scratch.base / f"acl-above-{name}", "root", "root", 0o750)
        # The user's group may only list; a foreign group's rwx is held to r-- by the mask.
        setfacl("-m", f"g:{scratch.group}:r--,g:{scratch.foreign}:rwx,m::r--", str(above))
        repo_tree(above / "OMERO", scratch.user, scratch.user)
        twins.append(above)
    applied, typed = twins
    report = check(applied / "OMERO", scratch.user, deep=False)
    plan = plan_fix(report)
    command = f"setfacl -m u:{scratch.user}:r-x,m::r-x {applied}"
    assert plan.commands == (command,)
    assert apply_fix(plan, state_dir=tmp_path).failed_total == 0
    subprocess.run(
        [*shlex.split(command)[:-1], str(typed)], check=True, capture_output=True, timeout=30
    )
    assert os.getxattr(applied, ACL_ACCESS_XATTR) == os.getxattr(typed, ACL_ACCESS_XATTR)
    assert os.stat(applied).st_mode == os.stat(typed).st_mode
    assert truth(scratch.user, applied / "OMERO") == "rwx"
    assert worst(check(applied / "OMERO", scratch.user).findings) is Severity.OK
    getfacl = subprocess.run(
        ["getfacl", "-cp", str(applied)], capture_output=True, text=True, check=True
    ).stdout
    assert f"group:{scratch.foreign}:rwx\t#effective:r-x" in getfacl  # still no write


def relative_snapshot(root: Path) -> dict[str, tuple]:
    return {os.path.relpath(p, root): state for p, state in snapshot(root).items()}


@pytest.mark.parametrize("kind", ["acl", "modes", "owners"])
def test_the_applied_fix_is_exactly_what_the_shown_commands_do(
    scratch: Scratch, tmp_path: Path, kind: str
) -> None:
    """Run the plan's commands by hand on a twin tree: both trees end the same."""
    if kind == "acl" and not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL fix not checked")
    twins = []
    for name in ("applied", "typed"):
        if kind == "owners":
            data = repo_tree(scratch.base / f"twin-{kind}-{name}", "root", "root", 0o750, 0o640)
        elif kind == "modes":
            data = repo_tree(scratch.base / f"twin-{kind}-{name}", scratch.user, scratch.user)
            os.chmod(data / "Pixels", 0o555)
            os.chmod(data / "Pixels" / "1", 0o454)  # someone may run it: rwX gives u+x
            os.chmod(data / "Files", 0o000)
        else:
            data = repo_tree(scratch.base / f"twin-{kind}-{name}", scratch.other, scratch.foreign)
            os.chmod(data / "Pixels" / "1", 0o750)
            setfacl("-R", "-m", f"g:{scratch.foreign}:r-X", str(data))
        twins.append(data)
    applied, typed = twins
    plan = plan_fix(check(applied, scratch.user))
    assert plan.steps
    assert apply_fix(plan, state_dir=tmp_path).failed_total == 0
    for command in plan.commands:
        argv = [a.replace(str(applied), str(typed), 1) for a in shlex.split(command)]
        assert argv != shlex.split(command), command
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    assert relative_snapshot(applied) == relative_snapshot(typed)
