"""Declared mounts (fstab, systemd units, autofs) and the dismounted-share trap, for real.

The trap itself lives in ``mount_trap``; its tests stay here, next to the declarations.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.findings import Severity
from omero_tui.core.locks.declared_mounts import (
    DeclaredMounts,
    parse_autofs_map,
    parse_fstab,
    parse_mount_unit,
    read_declared,
)
from omero_tui.core.locks.health import inspect_locks
from omero_tui.core.locks.mount_trap import MountGuard, check_declared, inspect_guard
from omero_tui.core.mounts import MountTable, parse_mountinfo
from tests import mountkit

# Recorded from OMERO hosts (names changed): NFS v3/v4, CIFS, sshfs, a bind mount.
RECORDED_FSTAB = r"""
# /etc/fstab: static file system information.
UUID=0a1b2c3d /               ext4    errors=remount-ro 0 1
UUID=4e5f6a7b none            swap    sw              0 0
nas:/export/omero   /data/omero   nfs4   rw,hard,vers=4.2,_netdev,nofail  0 0
nas:/export/old     /data/old     nfs    rw,vers=3,nolock,local_lock=all  0 0
//fs/omero          /mnt/smb\040share cifs  credentials=/root/.smb,nobrl,uid=omero 0 0
omero@host:/srv     /mnt/ssh      fuse.sshfs  noauto,_netdev,allow_other  0 0
/srv/big/OMERO      /OMERO        none   bind,x-systemd.automount  0 0
proc                /proc         proc   defaults  0 0
broken line
"""

RECORDED_UNIT = """\
[Unit]
Description=OMERO repository share

[Mount]
What=nas:/export/omero
Where=/srv/omero
Type=nfs4
Options=rw,hard,_netdev

[Install]
WantedBy=remote-fs.target
"""

RECORDED_MAP = """\
# indirect map for /repo
omero   -fstype=nfs4,rw,hard   nas:/export/omero
*       -fstype=nfs,vers=3     nas:/export/&
scratch \\
        -fstype=cifs,nobrl ://fs/scratch
"""


def test_recorded_sample_fstab_entries() -> None:
    mounts = {m.mount_point: m for m in parse_fstab(RECORDED_FSTAB, "/etc/fstab")}
    assert set(mounts) == {"/", "/data/omero", "/data/old", "/mnt/smb share", "/mnt/ssh", "/OMERO"}
    nfs4 = mounts["/data/omero"]
    assert (nfs4.source, nfs4.fstype) == ("nas:/export/omero", "nfs4")
    assert "nofail" in nfs4.options and nfs4.declared_in == "/etc/fstab line 5"
    assert mounts["/data/old"].options[-2:] == ("nolock", "local_lock=all")
    assert "nobrl" in mounts["/mnt/smb share"].options
    assert not mounts["/mnt/ssh"].at_boot  # noauto
    assert mounts["/OMERO"].automount and mounts["/OMERO"].fstype == "none"


def test_recorded_sample_systemd_unit(tmp_path: Path) -> None:
    unit = parse_mount_unit(RECORDED_UNIT, "/etc/systemd/system/srv-omero.mount")
    assert unit is not None
    assert (unit.mount_point, unit.source, unit.fstype) == (
        "/srv/omero",
        "nas:/export/omero",
        "nfs4",
    )
    assert unit.options == ("rw", "hard", "_netdev") and not unit.automount
    units = tmp_path / "system"
    (units / "remote-fs.target.wants").mkdir(parents=True)
    (units / "srv-omero.mount").write_text(RECORDED_UNIT)
    (units / "data.automount").write_text("[Automount]\nWhere=/data\n")
    declared = read_declared(fstab=None, unit_dirs=[str(units)], auto_master=None)
    by_point = {m.mount_point: m for m in declared.mounts}
    assert not by_point["/srv/omero"].at_boot  # nothing wants it yet
    assert by_point["/data"].automount
    os.symlink("../srv-omero.mount", units / "remote-fs.target.wants" / "srv-omero.mount")
    declared = read_declared(fstab=None, unit_dirs=[str(units)], auto_master=None)
    assert {m.mount_point: m for m in declared.mounts}["/srv/omero"].at_boot


def test_recorded_sample_autofs_maps(tmp_path: Path) -> None:
    entries = parse_autofs_map(RECORDED_MAP, "/etc/auto.repo", "/repo")
    points = [(m.mount_point, m.fstype, m.wildcard, m.source) for m in entries]
    assert points == [
        ("/repo/omero", "nfs4", False, "nas:/export/omero"),
        ("/repo", "nfs", True, "nas:/export/&"),
        ("/repo/scratch", "cifs", False, "://fs/scratch"),
    ]
    wildcard = entries[1]
    assert wildcard.concrete_point("/repo/lab7/OMERO/Pixels") == "/repo/lab7"
    assert wildcard.concrete_point("/elsewhere") is None
    # The master file, a direct map, a program map and an LDAP map.
    (tmp_path / "auto.repo").write_text(RECORDED_MAP)
    (tmp_path / "auto.direct").write_text("/OMERO  -fstype=nfs4  nas:/export/omero\n")
    program = tmp_path / "auto.prog"
    program.write_text("#!/bin/sh\necho nothing\n")
    program.chmod(0o755)
    master = tmp_path / "auto.master"
    master.write_text(
        f"/repo  {tmp_path}/auto.repo  --timeout=60\n/-  file:{tmp_path}/auto.direct\n"
        f"/prog  {program}\n/ldap  ldap:ou=auto.ldap,dc=example,dc=org\n/net  -hosts\n"
    )
    declared = read_declared(fstab=None, unit_dirs=(), auto_master=str(master), auto_master_d=None)
    points = {m.mount_point for m in declared.mounts}
    assert {"/repo/omero", "/repo", "/OMERO"} <= points
    assert any("program map" in u for u in declared.unreadable)
    assert any("ldap" in u for u in declared.unreadable)
    assert all(m.automount for m in declared.mounts)


RECORDED_TABLE = rb"""27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:52 / /data/omero rw,relatime - nfs4 nas:/export/omero rw,vers=4.2,local_lock=none
41 27 0:53 / /repo rw,relatime - autofs /etc/auto.repo rw,fd=6,pgrp=1,timeout=60,indirect
42 27 0:54 / /srv/omero rw,relatime - ext4 /dev/sdb1 rw
"""


def test_check_declared_on_a_recorded_table_simulated() -> None:
    declared = DeclaredMounts(
        tuple(
            parse_fstab(RECORDED_FSTAB)
            + parse_autofs_map(RECORDED_MAP, "/etc/auto.repo", "/repo")
            + [parse_mount_unit(RECORDED_UNIT, "/etc/systemd/system/srv-omero.mount")]  # type: ignore[list-item]
        ),
        (),
        (),
    )
    table = MountTable(parse_mountinfo(RECORDED_TABLE), has_devices=True)
    frozen = MountGuard(True, False, True, "omero:omero 0755")
    paths = ["/data/omero/Pixels", "/data/old/Files", "/repo/omero/x", "/srv/omero"]
    states = {
        s.mount_point: s for s in check_declared(paths, declared, table, guard=lambda p, u: frozen)
    }
    assert set(states) == {"/data/omero", "/data/old", "/repo/omero", "/srv/omero"}
    assert states["/data/omero"].mounted is not None and not states["/data/omero"].bare
    assert states["/data/old"].bare and states["/data/old"].guard == frozen
    assert states["/data/old"].covers == ("/data/old/Files",)
    assert states["/repo/omero"].trigger is not None and not states["/repo/omero"].bare
    assert states["/srv/omero"].mounted is not None  # the unit's type differs: see lock_health


def test_guard_of_a_bare_mount_point(tmp_path: Path) -> None:
    point = tmp_path / "share"
    point.mkdir()
    point.chmod(0o555)
    guard = inspect_guard(str(point), None)
    assert guard.exists and guard.server_can_write is False and guard.in_place
    assert "0555" in guard.detail
    point.chmod(0o777)
    assert not inspect_guard(str(point), None).in_place
    assert not inspect_guard(str(tmp_path / "absent"), None).exists


# ------------------------------------------------------------------ the trap, for real


def location_for(data: Path) -> ServerLocation:
    return ServerLocation(
        Determined(None, "none"),
        None,
        Determined(None, "none"),
        Determined(str(data), "test"),
        Determined(str(data / "ManagedRepository"), "test"),
    )


def mount_tmpfs(point: Path) -> None:
    mountkit.mount_tmpfs(point, why="the dismounted-share trap needs root to mount a tmpfs")


def test_dismounted_share_is_critical_for_real(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(f"# sample\ntmpfs  {share}  tmpfs  size=1m  0 0\n")
    declared = read_declared(fstab=str(fstab), unit_dirs=(), auto_master=None)
    data = share / "OMERO"
    no_logs = {"tail_bytes": 1024, "process_names": set}
    mount_tmpfs(share)
    try:
        for name in ("Pixels", "Files", "FullText"):
            (data / name).mkdir(parents=True)
        mounted = inspect_locks(location_for(data), declared=declared, **no_logs)
        codes = {f.code: f for f in mounted.findings}
        assert "locks.share_not_mounted" not in codes
        assert codes["locks.mount_guard_advice"].severity is Severity.INFO
        assert "chattr +i" in codes["locks.mount_guard_advice"].message
        data_row = mounted.directories[0]
        assert data_row.mount is not None and data_row.mount.fstype == "tmpfs"
    finally:
        subprocess.run(["umount", str(share)], check=True)
    # What the server does next: it writes into the bare mount point.
    (data / "Pixels").mkdir(parents=True)
    dismounted = inspect_locks(location_for(data), declared=declared, **no_logs)
    trap = [f for f in dismounted.findings if f.code == "locks.share_not_mounted"]
    assert len(trap) == 1
    assert trap[0].severity is Severity.CRITICAL and trap[0].path == str(share)
    assert "bare mount point" in trap[0].message and str(fstab) in trap[0].message
    # root:root 0755 would keep a server user out of the mount point itself, but the
    # repository already made below it is out of that guard's reach.
    (state,) = {s.mount_point: s for r in dismounted.directories for s in r.declared}.values()
    assert str(data / "Pixels") in state.exposed and str(data) in state.exposed
    assert "out of the guard's reach" in trap[0].message
    rows = {r.name: r for r in dismounted.directories}
    assert rows["Pixels"].verdict is Severity.CRITICAL
    assert rows["Pixels"].verdict_text == "NOT MOUNTED"
    assert rows["data dir"].verdict is Severity.CRITICAL


def test_dismounted_share_with_the_guard_in_place(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(f"nas:/export/omero  {share}  nfs4  rw  0 0\n")
    share.chmod(0o555)
    declared = read_declared(fstab=str(fstab), unit_dirs=(), auto_master=None)
    report = inspect_locks(
        location_for(share / "OMERO"), declared=declared, tail_bytes=1024, server_user="nobody"
    )
    (trap,) = [f for f in report.findings if f.code == "locks.share_not_mounted"]
    assert trap.severity is Severity.CRITICAL
    assert "the guard" in trap.message and "0555" in trap.message
