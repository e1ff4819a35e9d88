"""Every refusal and warning of the plan and the preflight, on a real demo sandbox."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.mounts import MountInfo, MountTable
from omero_tui.core.perms.server_user import lookup_user
from omero_tui.core.record import replace
from omero_tui.core.relocation import preflight_target
from omero_tui.core.relocation.checks import PreflightReport
from omero_tui.core.relocation.engine import prepare_relocation
from omero_tui.core.relocation.engine_context import EngineOptions
from omero_tui.core.relocation.journal import Journal
from omero_tui.core.relocation.plan import RelocationRefused, build_plan, check_target_text
from omero_tui.core.relocation.preflight import run_preflight
from omero_tui.core.relocation.tree_scan import scan_tree
from tests.core.relocation.helpers import mount_tmpfs, unmount

NO_PROBE = EngineOptions(probe_locks=False)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> DemoSandbox:
    """One sandbox for the tests that only look (building one takes most of a second)."""
    return build_demo(tmp_path_factory.mktemp("preflight") / "demo")


def located(sandbox: DemoSandbox) -> ServerLocation:
    return discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[])


def check(
    sandbox: DemoSandbox, target: str | Path, what: str = "data", state: Path | None = None
) -> PreflightReport:
    options = replace(NO_PROBE, state_dir=state, env={})
    return prepare_relocation(located(sandbox), str(target), what, options=options).preflight


def codes(report: PreflightReport, status: str = "fail") -> set[str]:
    return {c.code for c in report.checks if c.status == status}


def test_a_good_target_passes(sandbox: DemoSandbox, state_dir: Path) -> None:
    report = check(sandbox, sandbox.second_volume / "OMERO", state=state_dir)
    assert report.ok, report.failures
    assert "relocation.source_identity" in codes(report, "pass")


def test_refuses_nesting_and_unusable_targets(sandbox: DemoSandbox, state_dir: Path) -> None:
    data = sandbox.data_dir
    inside = check(sandbox, data / "Pixels" / "new", state=state_dir)
    assert codes(inside) == {"relocation.target_inside_source"}
    around = check(sandbox, sandbox.root, state=state_dir)
    assert "relocation.source_inside_target" in codes(around)
    assert codes(check(sandbox, sandbox.second_volume, state=state_dir), "fail") == set()
    a_file = sandbox.second_volume / "notes.txt"
    a_file.write_text("an admin's file\n")
    assert "relocation.target_not_empty" in codes(
        check(sandbox, sandbox.second_volume, state=state_dir)
    )
    assert "relocation.target_server_dir" in codes(
        check(sandbox, sandbox.server_dir / "var" / "OMERO", state=state_dir)
    )
    assert "relocation.target_not_directory" in codes(check(sandbox, a_file, state=state_dir))


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("relative/OMERO", "relocation.target_relative"),
        ("/data/../OMERO", "relocation.target_malformed"),
        ("/data/OMERO\n", "relocation.target_malformed"),
        ("", "relocation.target_empty"),
        ("D:\\OMERO", "relocation.windows_target"),
        ("D:\\OMERO\\con", "windows_path.reserved_name"),
        ("~/OMERO", "relocation.target_relative"),
        ("~omero/OMERO", "relocation.target_relative"),
        ("'/data/OMERO'", "relocation.target_malformed"),
        ('"/data/OMERO"', "relocation.target_malformed"),
        ("/data/\u2018OMERO\u2019", "relocation.target_malformed"),
        ("/data/`id`", "relocation.target_malformed"),
        ("/data/$(touch /tmp/x)", "relocation.target_malformed"),
        ("/data/${omero.data.dir}", "relocation.target_malformed"),
        ("/data/OMERO; rm -rf /", "relocation.target_malformed"),
        ("/data/OMERO && echo", "relocation.target_malformed"),
        ("/data/OMERO | tee", "relocation.target_malformed"),
        ("/data/OMERO*", "relocation.target_malformed"),
        ("/data\\OMERO", "relocation.target_malformed"),
        ("/data/OMERO ", "relocation.target_malformed"),
        (" /data/OMERO", "relocation.target_malformed"),
        ("/data/OM\x00ERO", "relocation.target_malformed"),
        ("/data/OM\x7fERO", "relocation.target_malformed"),
        ("\\\\filer\\D$\\OMERO", "relocation.windows_target"),  # $ is fine there
    ],
)
def test_refuses_relative_malformed_and_windows_paths_here(target: str, code: str) -> None:
    with pytest.raises(RelocationRefused) as caught:
        check_target_text(target)
    assert caught.value.code == code
    assert "\n" not in str(caught.value) and "\x00" not in str(caught.value)
    if target == "D:\\OMERO":
        assert "bin\\omero config set omero.data.dir D:\\\\OMERO" in str(caught.value)


def test_refuses_a_source_that_is_not_a_repository(
    demo_sandbox: DemoSandbox, state_dir: Path
) -> None:
    shutil.rmtree(demo_sandbox.data_dir / ".omero")
    report = check(demo_sandbox, demo_sandbox.second_volume / "OMERO", state=state_dir)
    assert "relocation.source_not_repository" in codes(report)


def test_refuses_when_space_or_inodes_run_short(
    sandbox: DemoSandbox, tmp_path: Path, state_dir: Path
) -> None:
    small = tmp_path / "small"
    mount_tmpfs(small, "size=8m")
    try:
        report = check(sandbox, small / "OMERO", state=state_dir)
    finally:
        unmount(small)
    assert "relocation.space" in codes(report)
    few = tmp_path / "few"
    mount_tmpfs(few, "size=512m,nr_inodes=200")
    try:
        report = check(sandbox, few / "OMERO", state=state_dir)
    finally:
        unmount(few)
    assert codes(report) == {"relocation.inodes"}


def test_a_real_tmpfs_target_is_copied_to_and_its_locks_work(
    sandbox: DemoSandbox, other_fs: Path, state_dir: Path
) -> None:
    options = EngineOptions(state_dir=state_dir, env={})
    before = os.stat(other_fs)
    prepared = prepare_relocation(located(sandbox), str(other_fs / "OMERO"), options=options)
    assert prepared.plan.method == "copy"
    assert prepared.preflight.ok, prepared.preflight.failures
    assert "relocation.target_locking" in codes(prepared.preflight, "pass")
    after = os.stat(other_fs)
    assert (after.st_mtime_ns, sorted(os.listdir(other_fs))) == (before.st_mtime_ns, [])


def _plan_and_scan(sandbox: DemoSandbox, target: Path):  # noqa: ANN202
    plan, _ = build_plan(located(sandbox), str(target))
    return plan, scan_tree(plan.source_real)


def test_warns_on_a_remote_filesystem_simulated(sandbox: DemoSandbox) -> None:
    target = sandbox.second_volume / "OMERO"
    nfs = MountInfo(
        str(sandbox.second_volume), "filer:/export", "nfs", ("rw",), ("vers=3", "nolock")
    )
    plan, scan = _plan_and_scan(sandbox, target)
    plan = replace(plan, method="copy")
    report = run_preflight(
        plan, scan, located(sandbox), server_user=None, probe_locks=False,
        table=MountTable([nfs]),
    )  # fmt: skip
    remote = next(c for c in report.checks if c.code == "relocation.target_filesystem")
    assert remote.status == "warn" and "nolock" in remote.reason


def test_refuses_broken_locking_simulated(sandbox: DemoSandbox) -> None:
    plan, scan = _plan_and_scan(sandbox, sandbox.second_volume / "OMERO")
    plan = replace(plan, method="copy")
    report = run_preflight(
        plan, scan, located(sandbox), server_user=None,
        lock_probe=lambda _d: "second process refused (exclusive): got it (no refusal)",
    )  # fmt: skip
    assert "relocation.target_locking" in codes(report)


def test_refuses_a_target_the_server_user_cannot_reach(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create a directory another user cannot enter")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    plan, scan = _plan_and_scan(sandbox, closed / "OMERO")
    report = run_preflight(
        plan, scan, located(sandbox), server_user=lookup_user("nobody"), probe_locks=False
    )
    assert "relocation.server_user_access" in codes(report)


def test_refuses_names_that_collide_on_a_case_insensitive_target_simulated(
    demo_sandbox: DemoSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    (demo_sandbox.data_dir / "Files" / "README").write_text("a")
    (demo_sandbox.data_dir / "Files" / "readme").write_text("b")
    monkeypatch.setattr(preflight_target, "case_insensitive", lambda _d: True)
    plan, scan = _plan_and_scan(demo_sandbox, demo_sandbox.second_volume / "OMERO")
    plan = replace(plan, method="copy")
    report = run_preflight(plan, scan, located(demo_sandbox), server_user=None, probe_locks=False)
    assert "relocation.case_collision" in codes(report)


def test_refuses_paths_that_would_grow_too_long(sandbox: DemoSandbox) -> None:
    plan, scan = _plan_and_scan(sandbox, sandbox.second_volume / "OMERO")
    plan = replace(plan, method="copy")
    scan = replace(scan, longest_rel=4090, longest_name=300)
    report = run_preflight(plan, scan, located(sandbox), server_user=None, probe_locks=False)
    assert {"relocation.path_too_long", "relocation.name_too_long"} <= codes(report)


def test_refuses_what_a_start_would_undo_with_the_change_to_make(
    demo_sandbox: DemoSandbox, state_dir: Path
) -> None:
    # The role's layout: <OMERODIR's parent>/config/*.omero, loaded at every start.
    config = demo_sandbox.root / "config"
    config.mkdir()
    omero_file = config / "50-local.omero"
    omero_file.write_text(f"# local\nconfig set omero.data.dir {demo_sandbox.data_dir}\n")
    target = str(demo_sandbox.second_volume / "OMERO")
    options = EngineOptions(state_dir=state_dir, env={}, probe_locks=False)
    report = prepare_relocation(located(demo_sandbox), target, options=options).preflight
    refusal = next(c for c in report.failures if c.code == "relocation.config_source")
    assert f"{omero_file}:2" in refusal.reason
    assert f"change line 2 of {omero_file} to `config set omero.data.dir {target}`" in (
        refusal.reason
    )
    assert "--rewrite-config-sources" in refusal.reason
    # Asked for, the line is planned with config.xml and nothing is refused for it.
    rewriting = replace(options, rewrite_config_sources=True)
    prepared = prepare_relocation(located(demo_sandbox), target, options=rewriting)
    assert prepared.preflight.ok, prepared.preflight.failures
    (change,) = prepared.plan.source_changes
    assert (change.path, change.line, change.new_text) == (
        str(omero_file), 2, f"config set omero.data.dir {target}"
    )  # fmt: skip
    # A template is never rewritten: the inventory variable is named instead.
    omero_file.write_text(f"# Ansible managed\nconfig set omero.data.dir {demo_sandbox.data_dir}\n")
    report = prepare_relocation(located(demo_sandbox), target, options=rewriting).preflight
    refusal = next(c for c in report.failures if c.code == "relocation.config_source_template")
    assert f"omero_server_datadir: {target}" in refusal.reason
    omero_file.unlink()
    # A Docker CONFIG_ variable: the volume is what moves.
    docker = replace(options, env={"CONFIG_omero_data_dir": str(demo_sandbox.data_dir)})
    report = prepare_relocation(located(demo_sandbox), target, options=docker).preflight
    refusal = next(c for c in report.failures if c.code == "relocation.config_source_environment")
    assert "CONFIG_omero_data_dir" in refusal.reason and "-v NEWDIR:" in refusal.reason


def test_refuses_while_another_relocation_is_unfinished(
    sandbox: DemoSandbox, state_dir: Path
) -> None:
    journal = Journal.create(state_dir, "20260101T000000Z-bbbbbb")
    journal.append({"type": "begin", "id": "x", "plan": {"source": "/a", "target": "/b"}})
    report = check(sandbox, sandbox.second_volume / "OMERO", state=state_dir)
    assert codes(report) == {"relocation.unfinished"}


def test_refuses_a_filesystem_mounted_inside_the_source(
    sandbox: DemoSandbox, state_dir: Path
) -> None:
    inner = sandbox.data_dir / "DropBox"
    mount_tmpfs(inner, "size=4m")
    try:
        report = check(sandbox, sandbox.second_volume / "OMERO", state=state_dir)
    finally:
        unmount(inner)
    assert "relocation.nested_mount" in codes(report)


def test_same_filesystem_is_a_rename_and_a_mount_point_source_a_copy(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    plan, _ = build_plan(located(sandbox), str(sandbox.second_volume / "OMERO"))
    assert plan.method == "rename"
    assert [s.id for s in plan.steps] == [
        "preflight", "stop", "prepare", "rename", "verify", "config", "start", "finish"
    ]  # fmt: skip
    mount_tmpfs(tmp_path / "mounted", "size=4m")
    try:
        (tmp_path / "mounted" / ".omero").mkdir()
        location = replace(
            located(sandbox),
            data_dir=replace(located(sandbox).data_dir, value=str(tmp_path / "mounted")),
        )
        plan, _ = build_plan(location, str(tmp_path / "elsewhere"))
    finally:
        unmount(tmp_path / "mounted")
    assert plan.method == "copy" and "mount point" in plan.method_why


def test_refuses_a_target_that_is_a_symlink(sandbox: DemoSandbox, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    report = check(sandbox, tmp_path / "link", state=tmp_path / "state")
    refused = next(c for c in report.checks if c.code == "relocation.target_symlink")
    assert refused.status == "fail" and str(real) in refused.reason


def test_refuses_while_another_process_holds_the_config_lock(
    sandbox: DemoSandbox, tmp_path: Path
) -> None:
    """Checked before anything is stopped: `omero admin start` holds it up to 300 s."""
    lock = sandbox.config_path.with_name("config.xml.lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path;"
            "from omero_tui.core.config.lock import exclusive_lock\n"
            "with exclusive_lock(Path(sys.argv[1]), 5):\n"
            "    print('held', flush=True); sys.stdin.readline()",
            str(lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report = check(sandbox, sandbox.second_volume / "OMERO", state=tmp_path / "state")
    finally:
        holder.communicate("\n", timeout=10)
    refused = next(c for c in report.checks if c.code == "relocation.config_locked")
    assert refused.status == "fail" and f"pid {holder.pid}" in refused.reason
    assert check(sandbox, sandbox.second_volume / "OMERO", state=tmp_path / "state").ok
