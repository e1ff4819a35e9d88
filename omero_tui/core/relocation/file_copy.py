"""Copy one regular file's bytes, holes kept, and prove the copy equal to its source.

Copying stays in the kernel (``copy_file_range``, else ``sendfile``, else read/write),
so no byte passes through Python. Sparse files are copied segment by segment
(``SEEK_DATA``/``SEEK_HOLE``): holes stay holes and a 40 GiB sparse pyramid does not
become 40 GiB of zeros on the new disk.

Verification, chosen over "hash while copying, hash the re-read": after the batch is
on disk (``syncfs``), the destination's cached pages are dropped (``POSIX_FADV_DONTNEED``,
so the re-read comes from the device where the filesystem allows it) and the
destination is compared byte for byte with the source with ``memcmp`` over both files
mapped in memory. Why: it is exact (no hash collision to argue about), it lets the copy
itself stay in the kernel (a hash would force every byte through Python), and ``memcmp``
runs at memory speed with the GIL released, on the second core while the next files are
copied; a SHA-256 of both sides would be the slowest part of the whole move. The cost:
the source is read twice; when it is not in the page cache that is a second read of
the old disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import stat

NOATIME = getattr(os, "O_NOATIME", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
SMALL_FILE = 1 << 20  # compared with two reads; larger files through mmap + memcmp
WINDOW = 64 << 20  # bytes mapped at a time when comparing
_CHUNK = 1 << 30  # largest single kernel copy request
_ZEROS = bytes(1 << 20)


class ContentMismatch(Exception):
    """The destination differs from the source; ``str(err)`` says where."""


def open_for_read(path: str, dir_fd: int | None = None) -> int:
    """Read-only, not following a final symlink, leaving the atime alone when allowed."""
    flags = os.O_RDONLY | CLOEXEC | NOFOLLOW
    if NOATIME:
        try:
            return os.open(path, flags | NOATIME, dir_fd=dir_fd)
        except PermissionError:
            pass  # O_NOATIME needs ownership or CAP_FOWNER
    return os.open(path, flags, dir_fd=dir_fd)


def data_segments(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of each stretch holding data; the whole file if holes are not reported."""
    if size == 0:
        return []
    segments = []
    pos = 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as err:
                if err.errno == errno.ENXIO:  # only a hole is left
                    break
                raise
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            if end > start:
                segments.append((start, end))
            pos = end
    except (OSError, AttributeError):
        return [(0, size)]
    return segments


class Copier:
    """Copies file data, remembering which kernel call works between two filesystems."""

    def __init__(self) -> None:
        self.method = "copy_file_range" if hasattr(os, "copy_file_range") else "sendfile"

    def copy(self, src: int, dst: int, size: int, sparse: bool) -> int:
        """Copy ``size`` bytes of ``src`` into the empty ``dst``; returns data bytes copied."""
        if not sparse and 0 < size <= _CHUNK and self.method == "sendfile":
            # The common case, kept short: one call for a whole small file.
            if os.sendfile(dst, src, 0, size) == size:
                return size
            os.ftruncate(dst, 0)
            os.lseek(dst, 0, os.SEEK_SET)
        segments = data_segments(src, size) if sparse else [(0, size)] if size else []
        copied = 0
        for start, end in segments:
            self._range(src, dst, start, end - start)
            copied += end - start
        if sparse or not segments:
            os.ftruncate(dst, size)  # a trailing hole, or an empty file
        return copied

    def _range(self, src: int, dst: int, offset: int, count: int) -> None:
        done = 0
        while done < count:
            want = min(count - done, _CHUNK)
            got = self._once(src, dst, offset + done, want)
            if got == 0:
                raise OSError(errno.EIO, "the source file ended early: it changed while copying")
            done += got

    def _once(self, src: int, dst: int, offset: int, count: int) -> int:
        if self.method == "copy_file_range":
            try:
                return os.copy_file_range(src, dst, count, offset, offset)
            except OSError as err:
                if err.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                self.method = "sendfile"
        if self.method == "sendfile":
            try:
                if offset:  # sendfile writes at the file position; a fresh file is at 0
                    os.lseek(dst, offset, os.SEEK_SET)
                return os.sendfile(dst, src, offset, count)
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                self.method = "read/write"
        data = os.pread(src, min(count, 8 << 20), offset)
        if data:
            written = os.pwrite(dst, data, offset)
            if written != len(data):
                raise OSError(errno.EIO, "short write to the destination")
        return len(data)


# ---------------------------------------------------------------------------- compare


class _Libc:
    """memcmp over mmap'ed windows through ctypes: the GIL is released while it runs."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(None, use_errno=True)
        self.mmap = lib.mmap
        self.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        self.mmap.restype = ctypes.c_void_p
        self.munmap = lib.munmap
        self.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.memcmp = lib.memcmp
        self.memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.memcmp.restype = ctypes.c_int

    def map(self, fd: int, offset: int, length: int) -> int:
        address = self.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, offset)
        if address is None or address == ctypes.c_void_p(-1).value:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return address


try:
    _LIBC: _Libc | None = _Libc() if os.name == "posix" else None
except (OSError, AttributeError):
    _LIBC = None


def drop_cache(fd: int) -> None:
    """Forget the cached pages of a synced file, so the next read comes from the device."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # advice only
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def compare_files(src_path: str, dst_path: str, size: int, sparse: bool) -> None:
    """Raise ContentMismatch unless ``dst_path`` holds exactly the bytes of ``src_path``."""
    src = open_for_read(src_path)
    try:
        dst = open_for_read(dst_path)
        try:
            drop_cache(dst)
            _compare_fds(src, dst, size, sparse, dst_path)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _compare_fds(src: int, dst: int, size: int, sparse: bool, where: str) -> None:
    st = os.fstat(dst)
    if not stat.S_ISREG(st.st_mode) or st.st_size != size:
        raise ContentMismatch(f"{where}: {st.st_size} bytes, the source has {size}")
    if size == 0:
        return
    if not sparse:
        _compare_range(src, dst, 0, size, where)
        return
    covered = data_segments(src, size)
    for start, end in covered:
        _compare_range(src, dst, start, end, where)
    # Where the source has a hole the copy must read as zeros.
    for start, end in data_segments(dst, size):
        for gap_start, gap_end in _outside(start, end, covered):
            _expect_zeros(dst, gap_start, gap_end, where)


def _outside(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    gaps = []
    pos = start
    for c_start, c_end in covered:
        if c_end <= pos or c_start >= end:
            continue
        if c_start > pos:
            gaps.append((pos, c_start))
        pos = max(pos, c_end)
    if pos < end:
        gaps.append((pos, end))
    return gaps


def _compare_range(src: int, dst: int, start: int, end: int, where: str) -> None:
    if end - start <= SMALL_FILE or _LIBC is None:
        _compare_by_reading(src, dst, start, end, where)
        return
    granularity = mmap.ALLOCATIONGRANULARITY
    pos = start - start % granularity
    while pos < end:
        length = min(WINDOW, end - pos)
        a = _LIBC.map(src, pos, length)
        try:
            b = _LIBC.map(dst, pos, length)
            try:
                lo = max(start - pos, 0)
                if _LIBC.memcmp(a + lo, b + lo, length - lo) != 0:
                    raise ContentMismatch(f"{where}: differs from the source near byte {pos}")
            finally:
                _LIBC.munmap(b, length)
        finally:
            _LIBC.munmap(a, length)
        pos += length


def _compare_by_reading(src: int, dst: int, start: int, end: int, where: str) -> None:
    pos = start
    while pos < end:
        want = min(end - pos, 8 << 20)
        a = os.pread(src, want, pos)
        b = os.pread(dst, want, pos)
        if a != b or not a:
            raise ContentMismatch(f"{where}: differs from the source near byte {pos}")
        pos += len(a)


def _expect_zeros(fd: int, start: int, end: int, where: str) -> None:
    pos = start
    while pos < end:
        want = min(end - pos, len(_ZEROS))
        data = os.pread(fd, want, pos)
        if not data:
            return
        if data != _ZEROS[: len(data)]:
            raise ContentMismatch(f"{where}: data near byte {pos} where the source has a hole")
        pos += len(data)
