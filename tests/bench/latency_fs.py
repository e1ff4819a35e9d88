"""A FUSE filesystem that mirrors a directory read-only and delays every metadata call.

It stands in for a network share (NFS, SMB, GPFS over the wire): each ``getattr``,
``opendir``, ``readdir``, ``readlink`` and ``statfs`` waits ``--delay-ms`` before it
answers, as a round trip to a file server would. libfuse runs each request on a
thread of its own (up to ``--threads``) and the wait is a sleep that releases the GIL,
so N callers in flight see about N times the throughput of one, as on a real share.

    python -m tests.bench.latency_fs BACKING MOUNTPOINT --delay-ms 1     # foreground
    python -m tests.bench.latency_fs --selftest BACKING --delay-ms 1     # throughput check

Needs the ``mfusepy`` binding (in the ``test`` extra),
Debian's ``fuse3`` (libfuse3 and fusermount3) and, to mount, root or ``/dev/fuse`` access.
Directory listings carry no attributes (no READDIRPLUS), so every ``stat`` of an entry is
a round trip of its own: the slow case that bounds ``du`` on a share.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ATTRS = (
    "st_mode",
    "st_ino",
    "st_nlink",
    "st_uid",
    "st_gid",
    "st_size",
    "st_blocks",
    "st_atime_ns",
    "st_mtime_ns",
    "st_ctime_ns",
)


def make_operations(backing: str, delay: float):  # noqa: ANN201 - mfusepy is imported late
    import mfusepy

    wait = time.sleep if delay > 0 else (lambda _: None)

    class LatencyMirror(mfusepy.Operations):
        use_ns = True

        def _real(self, path: str) -> str:
            return backing + path if path != "/" else backing

        def getattr(self, path: str, fh: int | None = None) -> dict:
            wait(delay)
            try:
                st = os.lstat(self._real(path))
            except OSError as err:
                raise mfusepy.FuseOSError(err.errno or errno.EIO) from None
            found = {key: getattr(st, key) for key in ATTRS}
            for key in ("st_atime", "st_mtime", "st_ctime"):
                found[key] = found.pop(key + "_ns")
            return found

        def opendir(self, path: str) -> int:
            wait(delay)
            if not os.path.isdir(self._real(path)):
                raise mfusepy.FuseOSError(errno.ENOTDIR)
            return 0

        def readdir(self, path: str, fh: int) -> list:
            wait(delay)
            # Names with their inode and type only (the d_ino and d_type of a listing):
            # an entry without its inode number would be hidden by the kernel.
            found: list = [".", ".."]
            try:
                with os.scandir(self._real(path)) as entries:
                    for entry in entries:
                        st = entry.stat(follow_symlinks=False)
                        found.append((entry.name, {"st_ino": st.st_ino, "st_mode": st.st_mode}, 0))
            except OSError as err:
                raise mfusepy.FuseOSError(err.errno or errno.EIO) from None
            return found

        def readlink(self, path: str) -> str:
            wait(delay)
            return os.readlink(self._real(path))

        def statfs(self, path: str) -> dict:
            wait(delay)
            vfs = os.statvfs(backing)
            return {
                key: getattr(vfs, key)
                for key in (
                    "f_bsize",
                    "f_frsize",
                    "f_blocks",
                    "f_bfree",
                    "f_bavail",
                    "f_files",
                    "f_ffree",
                    "f_favail",
                    "f_namemax",
                )
            }

    return LatencyMirror()


def serve(backing: str, mountpoint: str, delay: float, threads: int) -> None:
    import mfusepy

    mfusepy.FUSE(
        make_operations(os.path.abspath(backing), delay),
        mountpoint,
        foreground=True,
        nothreads=False,
        ro=True,
        use_ino=True,  # st_ino from the backing tree: hard links stay one inode
        fsname="latencyfs",
        subtype="latencyfs",
        max_threads=threads,
        max_idle_threads=threads,
        # Attributes cached like an NFS client does between its round trips; every
        # measured command starts on a fresh mount, so nothing is warm from the last one.
        entry_timeout=60,
        attr_timeout=60,
        allow_other=os.geteuid() == 0,
    )


@contextlib.contextmanager
def mounted(
    backing: Path | str, mountpoint: Path | str, delay_ms: float, threads: int = 128
) -> Iterator[Path]:
    """Mount a latency mirror for the ``with`` block; unmounted and stopped after it."""
    mountpoint = Path(mountpoint)
    mountpoint.mkdir(parents=True, exist_ok=True)
    before = os.stat(mountpoint).st_dev
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.latency_fs",
            str(backing),
            str(mountpoint),
            "--delay-ms",
            str(delay_ms),
            "--threads",
            str(threads),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        deadline = time.monotonic() + 20
        while os.stat(mountpoint).st_dev == before:
            if server.poll() is not None or time.monotonic() > deadline:
                err = server.stderr.read().decode(errors="replace") if server.stderr else ""
                raise RuntimeError(f"the latency filesystem did not mount: {err.strip()[-300:]}")
            time.sleep(0.02)
        yield mountpoint
    finally:
        unmount(mountpoint, server)


def unmount(mountpoint: Path, server: subprocess.Popen) -> None:
    commands = (["fusermount3", "-u", "-z", str(mountpoint)], ["umount", "-l", str(mountpoint)])
    for command in commands:
        with contextlib.suppress(OSError):
            if subprocess.run(command, capture_output=True, check=False).returncode == 0:
                break
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGKILL)
        server.wait()
    if server.stderr is not None:
        server.stderr.close()


def available() -> str | None:
    """None when a latency mirror can be mounted here, else the reason it cannot."""
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as err:
        return f"the mfusepy binding or libfuse3 is missing ({err})"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if os.geteuid() != 0 and not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "no access to /dev/fuse (run as root)"
    return None


def selftest(backing: str, delay_ms: float) -> None:
    """Stat entries of ``backing`` through a fresh mirror with 1, 4, 16 and 64 callers."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(os.listdir(backing))[:800]
    for callers in (1, 4, 16, 64):
        # A fresh mount each time: its attribute cache would answer otherwise.
        with mounted(backing, f"/tmp/latencyfs-selftest-{os.getpid()}", delay_ms) as mnt:
            paths = [f"{mnt}/{name}" for name in names]
            start = time.perf_counter()
            with ThreadPoolExecutor(callers) as pool:
                list(pool.map(os.lstat, paths))
            took = time.perf_counter() - start
        print(f"{callers:>3} callers: {len(paths) / took:8.0f} stats/s ({len(paths)} stats)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("backing")
    parser.add_argument("mountpoint", nargs="?")
    parser.add_argument("--delay-ms", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=128)
    parser.add_argument("--selftest", action="store_true")
    args = parser.parse_args()
    if args.selftest:
        selftest(args.backing, args.delay_ms)
        return
    if not args.mountpoint:
        parser.error("MOUNTPOINT is needed")
    serve(args.backing, args.mountpoint, args.delay_ms / 1000, args.threads)


if __name__ == "__main__":
    main()
