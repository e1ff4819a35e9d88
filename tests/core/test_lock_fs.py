"""Filesystem classification for locking, on recorded /proc/self/mountinfo samples."""
# ruff: noqa: E501 - recorded mountinfo lines are kept as the kernel wrote them

from __future__ import annotations

import pytest

from omero_tui.core.findings import Severity
from omero_tui.core.locks.fs import classify, needs_statd, nfs_version
from omero_tui.core.mounts import MountInfo, parse_mountinfo

# Recorded from NFS, CIFS, AFS, sshfs and cluster clients (addresses and names changed).
RECORDED_SAMPLE = rb"""27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
51 27 0:52 / /data/nfs3 rw,relatime shared:40 - nfs nas:/export/omero rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.0.0.5,mountvers=3,mountport=20048,mountproto=tcp,local_lock=none,addr=10.0.0.5
52 27 0:53 / /data/nfs3-nolock rw,relatime - nfs nas:/export/old rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,nolock,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.0.0.5,mountvers=3,mountproto=tcp,local_lock=all,addr=10.0.0.5
53 27 0:54 / /data/nfs4 rw,relatime shared:41 - nfs4 nas:/export/omero rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.7,local_lock=none,addr=10.0.0.5
54 27 0:55 / /data/nfs4-flock rw,relatime - nfs4 nas:/export/f rw,vers=4.1,hard,proto=tcp,sec=sys,local_lock=flock,addr=10.0.0.5
55 27 0:56 / /data/nfs3-posix rw,relatime - nfs nas:/export/p rw,vers=3,hard,proto=tcp,local_lock=posix,addr=10.0.0.5
56 27 0:57 / /data/nfs4-soft rw,relatime - nfs4 nas:/export/s rw,vers=4.1,soft,proto=tcp,timeo=100,retrans=2,sec=sys,local_lock=none,addr=10.0.0.5
57 27 0:58 / /mnt/cifs rw,relatime - cifs //fs.example.org/omero rw,vers=3.1.1,cache=strict,username=omero,uid=1001,noforceuid,gid=1001,noforcegid,addr=10.0.0.9,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rsize=4194304,wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1
58 27 0:59 / /mnt/cifs-nobrl rw,relatime - cifs //fs.example.org/omero rw,vers=3.0,cache=strict,username=omero,uid=1001,gid=1001,addr=10.0.0.9,file_mode=0755,dir_mode=0755,nounix,serverino,mapposix,nobrl,rsize=4194304,wsize=4194304
59 27 0:60 / /afs rw,relatime - afs AFS rw
60 27 0:61 / /mnt/sshfs rw,nosuid,nodev,relatime - fuse.sshfs omero@host:/srv/omero rw,user_id=0,group_id=0
61 27 0:62 / /mnt/ceph rw,relatime - ceph 10.0.0.1:6789:/omero rw,name=admin,secret=<hidden>,acl
62 27 0:63 / /mnt/lustre rw - lustre 10.0.0.2@tcp:/lfs rw,lazystatfs
63 27 0:64 / /mnt/lustre-flock rw - lustre 10.0.0.2@tcp:/lfs rw,flock,lazystatfs
64 27 0:65 / /mnt/gluster rw,relatime - fuse.glusterfs gl1:/omero rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072
65 27 0:66 / /mnt/beegfs rw,relatime - beegfs beegfs_nodev rw,cfgFile=/etc/beegfs/beegfs-client.conf
66 27 0:67 / /mnt/mystery rw,relatime - fuse.mystery mystery rw,user_id=0,group_id=0
67 27 8:33 / /mnt/ro-disk ro,relatime - ext4 /dev/sdc1 ro
68 27 0:68 / /mnt/9p rw,relatime - 9p hostshare rw,trans=virtio,version=9p2000.L
"""


def mount(point: str) -> MountInfo:
    return next(m for m in parse_mountinfo(RECORDED_SAMPLE) if m.mount_point == point)


def codes(point: str) -> dict[str, Severity]:
    return {c.code: c.severity for c in classify(mount(point)).concerns}


def test_recorded_sample_local_ext4_is_local_without_concerns() -> None:
    fs = classify(mount("/"))
    assert (fs.kind, fs.label, fs.concerns, fs.remote) == ("local", "ext4", (), False)


def test_recorded_sample_nfs3_with_lockd_needs_statd_and_emulates_flock() -> None:
    fs = classify(mount("/data/nfs3"))
    assert (fs.kind, fs.label) == ("remote", "NFS v3")
    assert codes("/data/nfs3") == {
        "locks.flock_emulated_nfs": Severity.INFO,
        "locks.nfs3_lockd": Severity.INFO,
    }
    assert needs_statd(mount("/data/nfs3"))


def test_recorded_sample_nfs3_nolock_keeps_locks_on_this_client() -> None:
    found = classify(mount("/data/nfs3-nolock")).concerns
    assert [c.code for c in found] == ["locks.nfs_locks_local"]
    assert found[0].severity is Severity.WARNING
    assert "nolock" in found[0].message and "another host" in found[0].message
    assert not needs_statd(mount("/data/nfs3-nolock"))


def test_recorded_sample_nfs4_default_is_info_only() -> None:
    fs = classify(mount("/data/nfs4"))
    assert fs.label == "NFS v4.2"
    assert codes("/data/nfs4") == {"locks.flock_emulated_nfs": Severity.INFO}
    assert nfs_version(mount("/data/nfs4")) == "4.2"
    assert not needs_statd(mount("/data/nfs4"))


@pytest.mark.parametrize(
    ("point", "code", "words"),
    [
        ("/data/nfs4-flock", "locks.nfs_flock_local", "portalocker"),
        ("/data/nfs3-posix", "locks.nfs_posix_local", "Lucene"),
        ("/data/nfs4-soft", "locks.nfs_soft", "Input/output error"),
    ],
)
def test_recorded_sample_nfs_local_lock_and_soft_options(point: str, code: str, words: str) -> None:
    found = {c.code: c for c in classify(mount(point)).concerns}
    assert found[code].severity is Severity.WARNING
    assert words in found[code].message


def test_recorded_sample_cifs_and_cifs_nobrl() -> None:
    assert classify(mount("/mnt/cifs")).label == "CIFS/SMB"
    assert codes("/mnt/cifs") == {"locks.cifs": Severity.WARNING}
    nobrl = classify(mount("/mnt/cifs-nobrl")).concerns
    assert [c.code for c in nobrl] == ["locks.cifs_nobrl"]
    assert "never sent to the SMB server" in nobrl[0].message


def test_recorded_sample_afs_keeps_byte_range_locks_local() -> None:
    fs = classify(mount("/afs"))
    assert (fs.kind, fs.label) == ("remote", "AFS")
    assert codes("/afs") == {"locks.afs": Severity.WARNING}
    assert "byte-range" in fs.concerns[0].message


@pytest.mark.parametrize(("point", "label"), [("/mnt/sshfs", "sshfs"), ("/mnt/9p", "9p")])
def test_recorded_sample_sshfs_and_9p_have_no_lock_protocol(point: str, label: str) -> None:
    fs = classify(mount(point))
    assert (fs.kind, fs.label) == ("remote", label)
    assert codes(point) == {"locks.no_lock_protocol": Severity.WARNING}


def test_recorded_sample_cluster_filesystems() -> None:
    for point, label in (("/mnt/ceph", "CephFS"), ("/mnt/gluster", "GlusterFS")):
        fs = classify(mount(point))
        assert (fs.kind, fs.label, fs.remote) == ("cluster", label, True)
        assert codes(point) == {"locks.cluster_fs": Severity.INFO}
    assert codes("/mnt/lustre") == {"locks.lustre_noflock": Severity.WARNING}
    assert codes("/mnt/lustre-flock") == {"locks.cluster_fs": Severity.INFO}
    assert codes("/mnt/beegfs") == {"locks.beegfs_local": Severity.WARNING}


def test_recorded_sample_unknown_fuse_and_read_only_mount() -> None:
    assert codes("/mnt/mystery") == {"locks.unknown_fuse": Severity.WARNING}
    assert classify(mount("/mnt/mystery")).kind == "unknown"
    assert codes("/mnt/ro-disk") == {"locks.read_only_mount": Severity.CRITICAL}


def test_no_mount_is_unknown() -> None:
    assert classify(None).kind == "unknown"


def test_every_message_is_one_sentence() -> None:
    for m in parse_mountinfo(RECORDED_SAMPLE):
        for concern in classify(m).concerns:
            assert concern.message.endswith(".")
            assert concern.message.count(". ") == 0, concern.message
