"""Can locking be trusted on this filesystem? Judged from its type and mount options.

OMERO needs working locks on every repository file: Java and Lucene take POSIX
(``fcntl``) byte-range locks, the Python servers take ``flock`` through portalocker.
Network and distributed filesystems implement these, when they do at all, through
their own protocols, and some mount options quietly turn them into host-local locks.
This module only reads the mount table entry; the active probe (``lock_probe``) tests
what the kernel really does.
"""

from __future__ import annotations

from omero_tui.core.findings import Severity
from omero_tui.core.mounts import MountInfo
from omero_tui.core.record import frozen

LOCAL_FSTYPES = frozenset(
    {
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs",
        "tmpfs", "ramfs", "overlay", "devtmpfs", "apfs", "hfs", "hfsplus", "ufs", "ffs",
        "vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "squashfs", "iso9660", "udf",
    }
)  # fmt: skip
# Shared-storage filesystems built for POSIX locking between hosts.
CLUSTER_FSTYPES = {
    "ceph": "CephFS",
    "fuse.ceph-fuse": "CephFS",
    "glusterfs": "GlusterFS",
    "fuse.glusterfs": "GlusterFS",
    "gpfs": "GPFS (Spectrum Scale)",
    "ocfs2": "OCFS2",
    "gfs2": "GFS2",
}
CIFS_FSTYPES = frozenset({"cifs", "smb3", "smbfs", "smb"})
NFS_FSTYPES = frozenset({"nfs", "nfs4"})
# Filesystems with no lock protocol of their own: locks stay on the host that took them.
HOST_LOCAL_LOCKS = {
    "fuse.sshfs": "sshfs",
    "sshfs": "sshfs",
    "9p": "9p",
    "davfs": "WebDAV (davfs2)",
    "fuse.davfs2": "WebDAV (davfs2)",
    "fuse.rclone": "rclone",
    "fuse.s3fs": "s3fs",
    "fuse.gcsfuse": "gcsfuse",
}
AFS_FSTYPES = frozenset({"afs", "openafs", "auristorfs"})


@frozen
class LockConcern:
    """One reason to trust or doubt locking here; becomes a Finding for a directory."""

    severity: Severity
    code: str
    message: str  # one sentence, without the directory (the finding adds the path)


@frozen
class FsClass:
    kind: str  # "local" | "remote" | "cluster" | "unknown"
    label: str  # for the table: "ext4", "NFS v3", "CIFS", ...
    concerns: tuple[LockConcern, ...] = ()

    @property
    def remote(self) -> bool:
        return self.kind in ("remote", "cluster")


def classify(mount: MountInfo | None) -> FsClass:
    """Classify the mount a repository directory lives on."""
    if mount is None:
        return FsClass("unknown", "unknown")
    fstype = mount.fstype
    concerns = _read_only(mount)
    if fstype in NFS_FSTYPES:
        return _nfs(mount, concerns)
    if fstype in CIFS_FSTYPES:
        return FsClass("remote", "CIFS/SMB", concerns + _cifs(mount))
    if fstype in AFS_FSTYPES:
        return FsClass("remote", "AFS", (*concerns, _AFS))
    if fstype in HOST_LOCAL_LOCKS:
        name = HOST_LOCAL_LOCKS[fstype]
        return FsClass("remote", name, (*concerns, _host_local(name)))
    if fstype == "lustre":
        return FsClass("cluster", "Lustre", concerns + _lustre(mount))
    if fstype == "beegfs":
        return FsClass("cluster", "BeeGFS", (*concerns, _BEEGFS))
    if fstype in CLUSTER_FSTYPES:
        name = CLUSTER_FSTYPES[fstype]
        return FsClass("cluster", name, (*concerns, _shared(name)))
    if fstype in LOCAL_FSTYPES:
        return FsClass("local", fstype, concerns)
    if fstype == "virtiofs":
        return FsClass(
            "remote", "virtiofs", (*concerns, _shared("virtiofs (shared with the VM host)"))
        )
    if fstype.startswith("fuse"):
        return FsClass("unknown", fstype, (*concerns, _unknown_fuse(fstype)))
    return FsClass("unknown", fstype, (*concerns, _unknown(fstype)))


def nfs_version(mount: MountInfo) -> str | None:
    """ "3", "4", "4.2"...; None when the mount does not say (only old kernels omit it)."""
    version = mount.option("vers") or mount.option("nfsvers")
    if version:
        return version
    return "4" if mount.fstype == "nfs4" else None


def needs_statd(mount: MountInfo) -> bool:
    """NFSv3 with kernel locking: lock recovery depends on rpc.statd on this client."""
    version = nfs_version(mount) or ""
    return (
        mount.fstype in NFS_FSTYPES
        and version.startswith(("2", "3"))
        and mount.option("nolock") is None
        and mount.option("local_lock") in (None, "none")
    )


def statd_missing_concern() -> LockConcern:
    return LockConcern(
        Severity.WARNING,
        "locks.nfs3_statd_missing",
        "NFSv3 locks go through lockd, but rpc.statd is not running on this host, so "
        "locks may fail with 'No locks available' and are not recovered after a reboot.",
    )


def _nfs(mount: MountInfo, concerns: tuple[LockConcern, ...]) -> FsClass:
    version = nfs_version(mount)
    label = f"NFS v{version}" if version else "NFS"
    found = list(concerns)
    local_lock = mount.option("local_lock")
    if mount.option("nolock") is not None or local_lock == "all":
        why = "nolock" if mount.option("nolock") is not None else "local_lock=all"
        found.append(
            LockConcern(
                Severity.WARNING,
                "locks.nfs_locks_local",
                f"The share is mounted with {why}, so every lock stays on this client and "
                "nothing stops another host from writing the same repository files.",
            )
        )
    elif local_lock == "flock":
        found.append(
            LockConcern(
                Severity.WARNING,
                "locks.nfs_flock_local",
                "The share is mounted with local_lock=flock, so flock locks (OMERO's Python "
                "servers, via portalocker) are invisible to other hosts of the share.",
            )
        )
    elif local_lock == "posix":
        found.append(
            LockConcern(
                Severity.WARNING,
                "locks.nfs_posix_local",
                "The share is mounted with local_lock=posix, so fcntl locks (Java and "
                "Lucene) are invisible to other hosts of the share.",
            )
        )
    else:
        found.append(
            LockConcern(
                Severity.INFO,
                "locks.flock_emulated_nfs",
                "On NFS, Linux emulates flock with POSIX byte-range locks, so a flock and an "
                "fcntl lock on the same file conflict here, unlike on a local disk.",
            )
        )
    if needs_statd(mount):
        found.append(
            LockConcern(
                Severity.INFO,
                "locks.nfs3_lockd",
                "NFSv3 locking uses the separate lockd/statd protocols, which must run and be "
                "reachable on this client and on the NFS server.",
            )
        )
    if mount.option("soft") is not None:
        found.append(
            LockConcern(
                Severity.WARNING,
                "locks.nfs_soft",
                "The share is mounted soft, so a slow NFS server turns into I/O errors in "
                "the middle of writes (logged as 'Input/output error').",
            )
        )
    return FsClass("remote", label, tuple(found))


def _cifs(mount: MountInfo) -> tuple[LockConcern, ...]:
    if mount.option("nobrl") is not None:
        return (
            LockConcern(
                Severity.WARNING,
                "locks.cifs_nobrl",
                "The share is mounted with nobrl, so byte-range locks are never sent to the "
                "SMB server and another client can write the same files at the same time.",
            ),
        )
    return (
        LockConcern(
            Severity.WARNING,
            "locks.cifs",
            "SMB/CIFS maps POSIX locks onto the server's byte-range locks, which OMERO's "
            "documentation names as a cause of 'Bad file descriptor' and lock errors.",
        ),
    )


def _lustre(mount: MountInfo) -> tuple[LockConcern, ...]:
    if mount.option("flock") is not None:
        return (_shared("Lustre (mounted with flock)"),)
    mode = "localflock" if mount.option("localflock") is not None else "noflock (the default)"
    return (
        LockConcern(
            Severity.WARNING,
            "locks.lustre_noflock",
            f"Lustre is mounted with {mode}, so flock and fcntl locks are either refused or "
            "kept on this client only; mount with 'flock' for coherent locks.",
        ),
    )


def _read_only(mount: MountInfo) -> tuple[LockConcern, ...]:
    if "ro" not in mount.all_options:
        return ()
    return (
        LockConcern(
            Severity.CRITICAL,
            "locks.read_only_mount",
            "The filesystem is mounted read-only, and OMERO starts anyway and silently runs "
            "the repository read-only.",
        ),
    )


def _host_local(name: str) -> LockConcern:
    return LockConcern(
        Severity.WARNING,
        "locks.no_lock_protocol",
        f"{name} has no lock protocol: locks are kept on this host only, and OMERO's "
        "documentation warns that such remote shares break the server's locking.",
    )


def _shared(name: str) -> LockConcern:
    return LockConcern(
        Severity.INFO,
        "locks.cluster_fs",
        f"{name} is shared storage built for POSIX locking between hosts; the probe can "
        "only confirm it from this host.",
    )


def _unknown_fuse(fstype: str) -> LockConcern:
    return LockConcern(
        Severity.WARNING,
        "locks.unknown_fuse",
        f"{fstype} is a FUSE filesystem whose locking depends entirely on its daemon, so "
        "only the probe can say whether OMERO's locks hold here.",
    )


def _unknown(fstype: str) -> LockConcern:
    return LockConcern(
        Severity.INFO,
        "locks.unknown_fs",
        f"{fstype} is not a filesystem this console knows, so run the lock probe before "
        "trusting it with the repository.",
    )


_AFS = LockConcern(
    Severity.WARNING,
    "locks.afs",
    "AFS enforces only whole-file locks between clients and keeps byte-range (fcntl) locks "
    "on this host, yet Java and Lucene rely on byte-range locks.",
)
_BEEGFS = LockConcern(
    Severity.WARNING,
    "locks.beegfs_local",
    "BeeGFS keeps locks on each client unless tuneUseGlobalFileLocks is enabled in "
    "beegfs-client.conf, which this console cannot see.",
)
