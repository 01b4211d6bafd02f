"""Shared-memory bodies for an engine on the same machine (the GUI's local engine, a CLI on the
server's host): the codec's frames travel through files in /dev/shm instead of the socket.

A 4096² request through HTTP is mostly page faults and chunked copies; through a segment it is
one copy into memory both processes have already mapped. The client owns every segment
(`SegmentPool`: created 0600 with O_EXCL under a random name that carries its pid, pre-faulted,
reused between requests, unlinked on close and at exit); the server only opens names of this
protocol's form, owned by its own user, private, of the size the request declares and within
its body limit (`SegmentMaps`). Segments of a client killed with SIGKILL are swept by the next
client or local engine that starts (`sweep`).
"""

from __future__ import annotations

import ipaddress
import mmap
import os
import re
import secrets
import stat
import threading
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np

from rfedit_desktop.protocol.codec import ProtocolError, byte_buffer

SHM_DIR = Path("/dev/shm")
PREFIX = "rfedit-shm-"
CONTENT_TYPE = "application/x-rfedit-segment"
GRAIN = 1 << 20  # segment sizes are rounded up to this, so one segment serves similar frames
_NAME = re.compile(re.escape(PREFIX) + r"(\d{1,10})-[0-9a-f]{32}")
KEEP_FREE = 4  # free segments a client keeps for reuse; older ones are unlinked
KEEP_MAPPED = 8  # mappings a server keeps open for reuse


class SegmentError(ProtocolError):
    """A segment the server cannot use; `status` is the HTTP status of the refusal."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def available() -> bool:
    """Whether this machine has a tmpfs for segments (Linux; elsewhere bodies go over HTTP)."""
    return (hasattr(os, "posix_fallocate") and SHM_DIR.is_dir()
            and os.access(SHM_DIR, os.W_OK | os.X_OK))


def identity() -> str:
    """What two processes must share to exchange segments: the kernel, the very /dev/shm
    (a container has its own) and the user. The server advertises it; a client compares."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    st = SHM_DIR.stat()
    return f"{boot}/{st.st_dev}/{st.st_ino}/{os.getuid()}"


def is_loopback(host: str) -> bool:
    """Whether `host` (a URL's host name or a listening address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def write_parts(mapping: mmap.mmap, parts: list[bytes | memoryview]) -> int:
    """Copy a frame's buffers (codec.frame_parts) into a mapping, one after another; the
    frame's length."""
    offset = 0
    for part in parts:
        n = memoryview(part).nbytes
        mapping[offset:offset + n] = part
        offset += n
    return offset


def frame_length(parts: list[bytes | memoryview]) -> int:
    return sum(memoryview(p).nbytes for p in parts)


def _unlink(name: str) -> None:
    try:
        os.unlink(SHM_DIR / name)
    except FileNotFoundError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> list[str]:
    """Unlink this user's segments whose creating process is gone (it was killed); the names."""
    removed = []
    try:
        entries = list(os.scandir(SHM_DIR))
    except OSError:
        return removed
    uid = os.getuid()
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid == uid:
                _unlink(entry.name)
                removed.append(entry.name)
        except OSError:
            pass
    return removed


class Segment:
    """One client-owned file in /dev/shm, mapped and pre-faulted (fresh tmpfs pages cost more
    than the copy: the point of a segment is that it is reused)."""

    def __init__(self, size: int) -> None:
        self.name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(16)}"
        self.size = size
        fd = os.open(SHM_DIR / self.name,
                     os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            # reserved, not sparse: on a full tmpfs (a container's /dev/shm is 64 MiB) this
            # fails with ENOSPC, where touching the pages of a sparse file would be a SIGBUS
            os.posix_fallocate(fd, 0, size)
            self.map = mmap.mmap(fd, size)
        except OSError:
            os.close(fd)
            _unlink(self.name)
            raise
        os.close(fd)
        np.frombuffer(self.map, np.uint8)[::mmap.PAGESIZE] = 0  # fault every page in now

    def write(self, parts: list[bytes | memoryview]) -> int:
        return write_parts(self.map, parts)

    def read(self, length: int) -> memoryview:
        """The first `length` bytes copied into memory of the caller's own (see
        codec.byte_buffer), so the segment can serve the next frame at once."""
        out = byte_buffer(length)
        out[:] = memoryview(self.map)[:length]
        return out

    def describe(self, length: int) -> dict[str, object]:
        return {"segment": self.name, "size": self.size, "length": length}

    def unlink(self) -> None:
        _unlink(self.name)
        try:
            self.map.close()
        except BufferError:  # a view is still out; the mapping goes with it
            pass


def _close_all(segments: list[Segment]) -> None:
    for segment in segments:
        segment.unlink()
    segments.clear()


class SegmentPool:
    """A client's segments, by size; thread-safe. `take` one for a frame, `give` it back after
    the answer; `close` unlinks them all (also done at exit)."""

    def __init__(self) -> None:
        sweep()
        self._lock = threading.Lock()
        self._free: list[Segment] = []  # the most recently given back last
        self._all: list[Segment] = []
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_all, self._all)

    def take(self, length: int) -> Segment:
        """A free segment for `length` bytes, else a new one. After `close` a call already
        under way still gets one; it is unlinked when given back."""
        size = max(GRAIN, -(-length // GRAIN) * GRAIN)
        with self._lock:
            for segment in reversed(self._free):
                if segment.size == size:
                    self._free.remove(segment)
                    return segment
        segment = Segment(size)
        with self._lock:
            self._all.append(segment)
        return segment

    def give(self, segment: Segment) -> None:
        with self._lock:
            if self._closed:
                drop = [segment]
            else:
                self._free.append(segment)
                drop = self._free[:-KEEP_FREE]
                del self._free[:-KEEP_FREE]
            for old in drop:
                if old in self._all:
                    self._all.remove(old)
        for old in drop:
            old.unlink()

    def names(self) -> list[str]:
        with self._lock:
            return [s.name for s in self._all]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
            # (at exit the finalizer may have emptied `_all` already)
            self._all[:] = [s for s in self._all if s not in free]
        _close_all(free)


class SegmentMaps:
    """The server's side: opens a client's segment after checking it may, and keeps a few
    mappings open (by file identity) so a reused segment costs no new page-table faults."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._lock = threading.Lock()
        self._maps: OrderedDict[str, tuple[tuple[int, int], mmap.mmap]] = OrderedDict()

    def open(self, described: object) -> tuple[mmap.mmap, int, int]:
        """(mapping, segment size, frame length) for a request's segment description;
        SegmentError with one line if it names anything but a segment this server may use."""
        name, size, length = _description(described)
        if size > self.max_size:
            raise SegmentError(f"the segment is larger than this engine's limit of "
                               f"{self.max_size >> 20} MiB", 413)
        try:
            fd = os.open(SHM_DIR / name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise SegmentError(f"no shared-memory segment {name} (removed, or the client runs "
                               "on another machine)") from None
        except OSError as exc:
            raise SegmentError(f"cannot open the segment {name}: {exc.strerror}", 403) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SegmentError(f"{name} is not a shared-memory segment")
            if st.st_uid != os.getuid():
                raise SegmentError(f"the segment {name} belongs to another user", 403)
            if st.st_mode & 0o077:
                raise SegmentError(f"the segment {name} is open to other users (it must be "
                                   "0600)", 403)
            if st.st_size != size:
                raise SegmentError(f"the segment {name} holds {st.st_size} bytes, not the "
                                   f"{size} the request names")
            key = (st.st_dev, st.st_ino)
            with self._lock:
                self._forget_removed()
                known = self._maps.get(name)
                if known is not None and known[0] == key:
                    self._maps.move_to_end(name)
                    return known[1], size, length
            mapping = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        with self._lock:
            self._maps[name] = (key, mapping)
            while len(self._maps) > KEEP_MAPPED:
                self._maps.popitem(last=False)
        return mapping, size, length

    def read(self, described: object) -> memoryview:
        """A frame from a segment, copied into the server's own memory (a job outlives the
        request that brought it, and the client reuses the segment)."""
        mapping, _, length = self.open(described)
        out = byte_buffer(length)
        out[:] = memoryview(mapping)[:length]
        return out

    def _forget_removed(self) -> None:
        """Let go of mappings whose file the client unlinked, so their memory is freed."""
        for name in list(self._maps):
            if not (SHM_DIR / name).exists():
                del self._maps[name]

    def close(self) -> None:
        with self._lock:
            self._maps.clear()


def _description(value: object) -> tuple[str, int, int]:
    if not isinstance(value, dict):
        raise SegmentError("a segment description is a JSON object")
    name, size, length = value.get("segment"), value.get("size"), value.get("length")
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        shown = name[:60] if isinstance(name, str) else type(name).__name__
        raise SegmentError(f"{shown!r} is not a segment name of this protocol "
                           f"({PREFIX}PID-HEX)")
    if type(size) is not int or type(length) is not int or not 0 <= length <= size:
        raise SegmentError("a segment needs a whole 'size' and a 'length' from 0 to its size")
    return name, size, length
