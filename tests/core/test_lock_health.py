"""The Lock health report: rows, verdicts and findings on the demo and recorded tables."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import DemoSandbox, build_demo
from omero_tui.core.discovery import ServerLocation, discover
from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.json_output import dumps
from omero_tui.core.locks.declared_mounts import DeclaredMount, DeclaredMounts
from omero_tui.core.locks.health import (
    inspect_locks,
    probe_report,
    remove_stale_locks,
)
from omero_tui.core.locks.mount_trap import MountGuard
from omero_tui.core.mounts import MountTable, parse_mountinfo
from omero_tui.core.record import replace
from omero_tui.core.server.for_location import StopCheck
from tests.core.test_lock_probe import simulated_child

NOTHING_DECLARED = DeclaredMounts((), (), ())


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSandbox:
    """One sandbox for the tests here that only read it (the probe leaves nothing)."""
    return build_demo(tmp_path_factory.mktemp("lock-health") / "demo")


def locate(sandbox: DemoSandbox) -> ServerLocation:
    return discover(server_dir_arg=str(sandbox.server_dir), env={}, candidates=[], demo=True)


def recorded_table(data_dir: Path, line: str) -> MountTable:
    """A recorded share line, mounted at the demo's data dir.

    The share gets the data dir's real device numbers, so the st_dev cross-check of the
    mount lookup confirms it, as it would on the host the line was recorded on.
    """
    dev = os.stat(data_dir).st_dev
    share = line.format(point=data_dir, dev=f"{os.major(dev)}:{os.minor(dev)}")
    text = f"27 1 1:1 / / rw,relatime - ext4 /dev/vda rw\n{share}\n"
    return MountTable(parse_mountinfo(text.encode()), has_devices=True)


def test_demo_is_healthy_before_and_after_the_probe(shared_demo: DemoSandbox) -> None:
    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED)
    names = [r.name for r in report.directories]
    assert names == [
        "data dir",
        "Pixels",
        "Files",
        "Thumbnails",
        "FullText",
        "ManagedRepository",
        "BioFormatsCache",
    ]
    assert all(r.present and r.mount is not None for r in report.directories)
    assert worst(report.findings).rank <= Severity.INFO.rank, report.findings
    lucene = [f for f in report.lock_files.files if f.kind == "lucene"]
    assert [f.state for f in lucene] == ["stale"]  # no stand-in running
    assert not report.probed and all(r.probe_verdict == "not run" for r in report.directories)
    probed = probe_report(report)
    assert probed.probed
    assert all(r.probe_verdict == "passed" for r in probed.directories)
    for row in probed.directories:
        assert row.probe is not None
        assert all(k.handoff_ms is not None for k in row.probe.kinds)
    assert worst(probed.findings).rank <= Severity.INFO.rank
    as_json = json.loads(dumps(probed))
    assert as_json["directories"][0]["probe_verdict"] == "passed"
    assert as_json["directories"][0]["verdict"] == "ok"


def test_recorded_sample_nfs3_nolock_data_dir_is_doubtful(shared_demo: DemoSandbox) -> None:
    line = "40 27 {dev} / {point} rw - nfs nas:/export/omero rw,vers=3,nolock,local_lock=all"
    table = recorded_table(shared_demo.data_dir, line)
    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED, table=table)
    assert {r.fs.label for r in report.directories} == {"NFS v3"}
    assert {r.verdict_text for r in report.directories} == {"doubtful"}
    codes = [f.code for f in report.findings]
    assert codes.count("locks.nfs_locks_local") == 1  # one per mount, not per directory
    advice = next(f for f in report.findings if f.code == "locks.mount_guard_advice")
    assert advice.path == str(shared_demo.data_dir) and "chmod 0555" in advice.message
    assert worst(report.findings) is Severity.WARNING


def test_recorded_sample_nfs3_without_statd_simulated(shared_demo: DemoSandbox) -> None:
    line = "40 27 {dev} / {point} rw - nfs nas:/export/omero rw,vers=3,hard,local_lock=none"
    table = recorded_table(shared_demo.data_dir, line)
    without = inspect_locks(
        locate(shared_demo), declared=NOTHING_DECLARED, table=table, process_names=set
    )
    assert without.statd_running is False
    assert "locks.nfs3_statd_missing" in [f.code for f in without.findings]
    with_statd = inspect_locks(
        locate(shared_demo),
        declared=NOTHING_DECLARED,
        table=table,
        process_names=lambda: {"rpc.statd"},
    )
    assert "locks.nfs3_statd_missing" not in [f.code for f in with_statd.findings]


def test_broken_locking_simulated_turns_every_row_red(shared_demo: DemoSandbox) -> None:
    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED)
    probed = probe_report(report, child_command=simulated_child("AlwaysSucceeds"))
    assert all(r.verdict is Severity.CRITICAL for r in probed.directories)
    assert {r.verdict_text for r in probed.directories} == {"locks broken"}
    broken = [f for f in probed.findings if f.code == "locks.lock_broken"]
    # Once per lock kind and filesystem, however many directories share it.
    assert len(broken) == 2
    assert {f.path for f in broken} == {probed.directories[0].mount.mount_point}  # type: ignore[union-attr]
    assert "do not exclude" in broken[0].message
    assert probed.findings[0].code == "locks.lock_broken"  # the loudest comes first
    assert worst(probed.findings).exit_code == 2


def test_a_missing_subdirectory_is_not_probed(demo_sandbox: DemoSandbox) -> None:
    shutil.rmtree(demo_sandbox.data_dir / "BioFormatsCache")
    report = probe_report(inspect_locks(locate(demo_sandbox), declared=NOTHING_DECLARED))
    row = next(r for r in report.directories if r.name == "BioFormatsCache")
    assert (row.present, row.verdict_text, row.probe_verdict) == (False, "missing", "not run")


def test_declared_mount_states_simulated(shared_demo: DemoSandbox) -> None:
    data = str(shared_demo.data_dir)
    frozen = MountGuard(True, False, None, "root:root 0755")

    def findings(declared: DeclaredMount, table: MountTable) -> dict[str, Finding]:
        report = inspect_locks(
            locate(shared_demo),
            declared=DeclaredMounts((declared,), (), ()),
            table=table,
            guard=lambda _p, _u: frozen,
        )
        return {f.code: f for f in report.findings}

    ext4 = recorded_table(shared_demo.data_dir, "40 27 {dev} / {point} rw - ext4 /dev/sdb1 rw")
    nfs4 = DeclaredMount(data, "nas:/export/omero", "nfs4", ("rw", "nofail"), "/etc/fstab line 3")
    found = findings(nfs4, ext4)
    assert found["locks.share_type_mismatch"].severity is Severity.WARNING
    assert "nofail" in found["locks.mount_guard_advice"].message

    bare = recorded_table(shared_demo.data_dir, "")
    manual = replace(nfs4, at_boot=False)
    assert findings(manual, bare)["locks.share_not_mounted_manual"].severity is Severity.WARNING

    parent = str(shared_demo.root)
    autofs = recorded_table(
        shared_demo.data_dir, f"41 27 0:99 / {parent} rw - autofs /etc/auto.demo rw,indirect"
    )
    auto = replace(nfs4, automount=True, trigger_point=parent)
    idle = findings(auto, autofs)
    assert idle["locks.automount_idle"].severity is Severity.INFO
    assert "locks.share_not_mounted" not in idle


def test_stale_locks_are_removed_only_when_verified_stopped(demo_sandbox: DemoSandbox) -> None:
    ident = next((demo_sandbox.data_dir / ".omero" / "repository").iterdir())
    lock = ident / ".lock"
    lock.write_bytes(b"")
    report = inspect_locks(locate(demo_sandbox), declared=NOTHING_DECLARED)
    assert "locks.stale_repo_lock" in [f.code for f in report.findings]
    refused = remove_stale_locks(report, lambda: StopCheck(False, "Blitz-0 (pid 7) is alive"))
    assert refused.removed == () and "Blitz-0 (pid 7) is alive" in (refused.refused or "")
    assert lock.exists()
    done = remove_stale_locks(report, lambda: StopCheck(True, "no server process is alive"))
    assert done.removed == (str(lock),) and not lock.exists()
    again = inspect_locks(locate(demo_sandbox), declared=NOTHING_DECLARED)
    assert "locks.stale_repo_lock" not in [f.code for f in again.findings]


def test_a_probe_that_cannot_start_simulated_is_unknown_not_red(shared_demo: DemoSandbox) -> None:
    from omero_tui.core.locks.probe import ProbeTimeouts
    from tests.core.test_lock_probe import SLOW_START_CHILD

    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED)
    probed = probe_report(
        report,
        timeouts=ProbeTimeouts(start_s=0.3, step_s=1.0, handoff_s=0.5),
        child_command=[sys.executable, "-c", SLOW_START_CHILD],
    )
    assert {r.probe_verdict for r in probed.directories} == {"error"}
    unavailable = [f for f in probed.findings if f.code == "locks.probe_unavailable"]
    assert len(unavailable) == len(probed.directories)
    assert {f.severity for f in unavailable} == {Severity.UNKNOWN}
    assert "locks.probe_hung" not in {f.code for f in probed.findings}
    assert worst(probed.findings).exit_code == 3  # unknown, for monitoring


def test_probe_passing_on_an_unknown_fuse_fs_states_the_blind_spot_simulated(
    shared_demo: DemoSandbox,
) -> None:
    line = "40 27 {dev} / {point} rw - fuse.mystery mystery rw,user_id=0,group_id=0"
    table = recorded_table(shared_demo.data_dir, line)
    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED, table=table)
    probed = probe_report(report)
    assert all(r.probe_verdict == "passed" for r in probed.directories)
    (blind,) = [f for f in probed.findings if f.code == "locks.probe_blind_spot"]
    assert "if other hosts share it" in blind.message


ROOT_SQUASH_CHILD = """
import errno, os, sys
from omero_tui.core.locks import probe_child as child

real_open = os.open

def squashed(path, flags, mode=0o777, *args, **kwargs):  # NFS root_squash: no creating
    if flags & os.O_CREAT:
        raise OSError(errno.EACCES, "Permission denied")
    return real_open(path, flags, mode, *args, **kwargs)

os.open = squashed
child.serve(sys.stdin, sys.stdout, child.PosixLocker())
"""


def test_root_refused_like_root_squash_simulated_is_unknown_not_red(
    shared_demo: DemoSandbox,
) -> None:
    report = inspect_locks(locate(shared_demo), declared=NOTHING_DECLARED)
    probed = probe_report(report, child_command=[sys.executable, "-c", ROOT_SQUASH_CHILD])
    codes = {f.code: f.severity for f in probed.findings}
    row = probed.directories[0]
    assert row.probe is not None and row.probe.write is not None
    assert row.probe.write.errno == "EACCES"
    if os.geteuid() == 0:  # root refused: a squashing share, which proves nothing
        assert codes.get("locks.probe_root_refused") is Severity.UNKNOWN
        assert "locks.write_failed" not in codes and "locks.probe_error" not in codes
        assert {r.verdict_text for r in probed.directories} == {"root refused"}
    else:  # the server user refused: the server would run read-only
        assert codes.get("locks.write_failed") is Severity.CRITICAL
        assert "locks.probe_root_refused" not in codes


def test_the_scans_pyramid_lock_files_are_asked_for_last(
    shared_demo: DemoSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check`` hands them over from a scan that may still run: everything else (mounts,
    server processes, logs) is looked at before the lock files wait for them."""
    import omero_tui.core.locks.health as lock_health

    asked: list[str] = []
    real_scan_logs = lock_health.scan_logs

    def scan_logs(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        asked.append("logs")
        return real_scan_logs(*args, **kwargs)

    def pyramid_locks() -> list[str]:
        asked.append("pyramid locks")
        return [str(shared_demo.data_dir / "Pixels" / ".9_pyramid.pyr_lock")]

    monkeypatch.setattr(lock_health, "scan_logs", scan_logs)
    report = inspect_locks(
        locate(shared_demo), declared=NOTHING_DECLARED, pyramid_locks=pyramid_locks
    )
    assert asked == ["logs", "pyramid locks"]
    pyramids = [s for s in report.lock_files.files if s.kind == "pyramid"]
    assert [s.state for s in pyramids] == ["unknown"]  # named by the scan, gone since
