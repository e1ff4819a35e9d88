"""Targets that look fine and are not (#14, item 5): RAM filesystems, mistyped mount
points, and refusals that read as plain sentences. Real mount tables and a real tmpfs
(root only; skipped with the reason otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.discovery import discover
from omero_tui.core.locks.declared_mounts import DeclaredMounts, parse_fstab
from omero_tui.core.mounts import MountInfo, MountTable
from omero_tui.core.record import replace
from omero_tui.core.relocation.engine import prepare_relocation
from omero_tui.core.relocation.engine_context import EngineOptions
from omero_tui.core.relocation.plan import RelocationRefused, check_target_text
from omero_tui.core.relocation.target_choice import describe_choice
from omero_tui.core.relocation.target_trust import (
    MISTYPED_CODE,
    RAM_CODE,
    mistyped_mount_problem,
)
from tests.core.relocation.helpers import mount_tmpfs, unmount

NO_PROBE = EngineOptions(probe_locks=False)
NOTHING_DECLARED = DeclaredMounts((), (), ())


def table_of(*points: tuple[str, str]) -> MountTable:
    return MountTable([MountInfo(point, "/dev/x", fstype, ("rw",)) for point, fstype in points])


@pytest.fixture
def sandbox(tmp_path: Path) -> DemoSandbox:
    return build_demo(tmp_path / "demo")


def preflight(sandbox: DemoSandbox, target: Path, state: Path):  # noqa: ANN201
    location = discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[])
    options = replace(NO_PROBE, state_dir=state, env={})
    return prepare_relocation(location, str(target), options=options).preflight


def test_a_tmpfs_target_is_warned_about_never_passed_as_healthy(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    ram = tmp_path / "ram"
    mount_tmpfs(ram)
    try:
        report = preflight(sandbox, ram / "OMERO", tmp_path / "state")
        warned = {c.code: c.reason for c in report.warnings}
        assert RAM_CODE in warned and "lost at the next reboot" in warned[RAM_CODE]
        passed = {c.code for c in report.checks if c.status == "pass"}
        assert "relocation.target_filesystem" not in passed  # never "✓ on tmpfs"
        choice = describe_choice(str(ram / "OMERO"))
        assert any("lost at the next reboot" in w for w in choice.warnings)
    finally:
        unmount(ram)


def test_missing_parents_on_the_root_filesystem_look_like_a_mistyped_mount(
    tmp_path: Path,
) -> None:
    table = table_of(("/", "ext4"), ("/mnt/volume2", "xfs"))
    # /mnt/volme2 (a typo) does not exist: it would be made on / with OMERO under it.
    problem = mistyped_mount_problem("/mnt/volme2/OMERO", table, NOTHING_DECLARED)
    assert problem is not None
    assert "/mnt/volme2 does not exist" in problem and "root filesystem" in problem
    # Only the last name is new: an ordinary new directory, no alarm.
    assert mistyped_mount_problem("/mnt/OMERO", table, NOTHING_DECLARED) is None


def test_a_declared_but_unmounted_mount_point_is_flagged(tmp_path: Path) -> None:
    point = tmp_path / "bigdisk"
    point.mkdir()  # the empty directory an fstab mount sits on, nothing mounted now
    declared = DeclaredMounts(
        tuple(parse_fstab(f"/dev/sdb1 {point} xfs defaults 0 2\n")), ("/etc/fstab",), ()
    )
    table = MountTable.read()
    problem = mistyped_mount_problem(str(point / "OMERO"), table, declared)
    assert problem is not None
    assert f"{point} is declared as a mount point" in problem
    assert "nothing is mounted there" in problem


def test_the_preflight_flags_a_likely_mistyped_mount_point(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    table = MountTable.read()
    if (table.mount_of(str(tmp_path)) or MountInfo("?", "", "", ())).mount_point != "/":
        pytest.skip("the temp dir is not on the root filesystem here")
    report = preflight(sandbox, tmp_path / "volme2" / "OMERO", tmp_path / "state")
    assert MISTYPED_CODE in {c.code for c in report.warnings}


def test_the_repository_itself_and_a_path_inside_it_read_as_sentences(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    itself = preflight(sandbox, sandbox.data_dir, tmp_path / "state")
    reason = itself.failures[0].reason
    assert reason == f"{sandbox.data_dir} is the repository itself; choose a directory outside it"
    inside = preflight(sandbox, sandbox.data_dir / "Pixels" / "new", tmp_path / "state")
    reason = next(c.reason for c in inside.failures if c.code == "relocation.target_inside_source")
    assert "inside the repository being moved" in reason and "\\" not in reason


@pytest.mark.parametrize("typed", ["/mnt/it's/OMERO", '"/mnt/new/OMERO"', "/mnt/a;b"])
def test_refusals_show_the_path_as_typed_without_python_escaping(typed: str) -> None:
    with pytest.raises(RelocationRefused) as refused:
        check_target_text(typed)
    message = str(refused.value)
    assert f"the target {typed} contains" in message
    assert "\\'" not in message and "'\"" not in message
