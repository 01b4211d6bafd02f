"""Inversion cache: a repeated edit of the same image pays only for its editing steps.

Two tiers: an LRU in memory bounded in bytes, and one safetensors file per key on disk bounded
in bytes (least recently used by mtime goes first). A disk entry carries a checksum of its
tensor bytes; anything that fails to load or verify (checksum, tensors of one shape, finite
values) is deleted and treated as a miss, because a cache must never turn into an error the
user sees. `entry_bytes` / `entry_from_bytes` are the one serialised form, also used for the
inversions a project file carries. All bookkeeping is under one lock: the
GUI thread asks `contains` while the worker thread writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import paths
from ..files.atomic import atomic_write

log = logging.getLogger(__name__)

FORMAT = "rfedit-inversion-1"
SUFFIX = ".safetensors"
_KEY_RE = re.compile(r"^[0-9A-Za-z_-]{1,128}$")
_STALE_TMP_SECONDS = 600


@dataclass
class CachedInversion:
    """One inversion: the clean latent, the reference noise (zeros for the solvers without
    one), the inverted latent and, for masked edits, the latent at every grid point (ordered as
    `flow.InversionResult`). A FlowEdit entry holds the source latent as y0 and latent and the
    source-side velocities (ordered as `flow.FlowEditResult`)."""

    y0: torch.Tensor
    y1: torch.Tensor
    latent: torch.Tensor
    trajectory: list[torch.Tensor] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source_velocities: list[torch.Tensor] | None = None

    def tensors(self) -> dict[str, torch.Tensor]:
        named = {"y0": self.y0, "y1": self.y1, "latent": self.latent}
        for i, t in enumerate(self.trajectory or []):
            named[f"trajectory.{i:05d}"] = t
        for i, t in enumerate(self.source_velocities or []):
            named[f"source_velocity.{i:05d}"] = t
        return named

    def nbytes(self) -> int:
        """Bytes held, counting a storage shared by several tensors once."""
        seen: dict[int, int] = {}
        for t in self.tensors().values():
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        return sum(seen.values())


def _canonical(value: Any) -> Any:
    """JSON-ready form where equal parameters always look equal (1 and 1.0 are one number)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            return repr(f)
        return f
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (Path, torch.dtype, torch.device)):
        return str(value)
    raise TypeError(f"cache key part of type {type(value).__name__} is not supported")


def _checksum(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class InversionCache:
    """Memory LRU + disk store of `CachedInversion`s, keyed by `make_key`.

    Tensors are kept on the CPU (an entry put from a GPU is copied down), so the memory budget
    is host memory; entries returned by `get` are shared and must not be modified in place.
    """

    def __init__(
        self,
        memory_bytes: int = 1 << 30,
        disk_bytes: int = 4 << 30,
        folder: str | os.PathLike[str] | None = None,
        use_disk: bool = True,
    ) -> None:
        if memory_bytes < 0 or disk_bytes < 0:
            raise ValueError("cache budgets must be >= 0 bytes")
        self.memory_bytes = int(memory_bytes)
        self.disk_bytes = int(disk_bytes)
        self.folder = Path(folder) if folder is not None else paths.cache_dir() / "inversions"
        self.use_disk = use_disk
        self._lock = threading.RLock()
        self._memory: OrderedDict[str, tuple[CachedInversion, int]] = OrderedDict()
        self._memory_used = 0
        self.hits = 0
        self.misses = 0
        if use_disk:
            self._remove_stale_tmp()

    # -- keys ---------------------------------------------------------------------------------
    @staticmethod
    def make_key(**parts: Any) -> str:
        """sha256 of a canonical JSON of the parts (sorted keys; ints and floats unified)."""
        text = json.dumps(_canonical(parts), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise ValueError(f"invalid cache key {key!r}")
        return self.folder / f"{key}{SUFFIX}"

    # -- public API ---------------------------------------------------------------------------
    def contains(self, key: str) -> bool:
        """Cheap: in memory, or a file exists on disk (not loaded or verified)."""
        path = self._path(key)
        with self._lock:
            if key in self._memory:
                return True
            return self.use_disk and path.is_file()

    def get(self, key: str) -> CachedInversion | None:
        """Memory first, then disk (a disk hit is promoted to memory); None on a miss."""
        path = self._path(key)
        with self._lock:
            held = self._memory.get(key)
            if held is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return held[0]
        # disk reads happen outside the lock so that `contains` never waits on them
        entry = self._load(key, path) if self.use_disk else None
        with self._lock:
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._remember(key, entry)
            return entry

    def put(self, key: str, entry: CachedInversion) -> None:
        """Store in memory and (if enabled) on disk; a failed disk write only logs a warning.

        The file appears atomically (temporary file, then rename), so a concurrent `contains`
        or `get` sees either no entry or a complete one.
        """
        path = self._path(key)
        entry = _to_cpu(entry)
        with self._lock:
            self._remember(key, entry)
        if self.use_disk:
            self._write(key, path, entry)
            with self._lock:
                self._bound_disk(keep=path)

    def discard(self, key: str) -> None:
        """Forget one entry, in memory and on disk (it turned out unusable)."""
        path = self._path(key)
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._memory_used -= old[1]
            if self.use_disk:
                _unlink(path)

    def clear(self) -> None:
        """Forget everything, in memory and on disk."""
        with self._lock:
            self._memory.clear()
            self._memory_used = 0
            for p in self._disk_files(include_tmp=True):
                _unlink(p)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            files = self._disk_files() if self.use_disk else []
            sizes = [_size(p) for p in files]
            return {
                "hits": self.hits,
                "misses": self.misses,
                "memory_entries": len(self._memory),
                "memory_bytes": self._memory_used,
                "memory_limit": self.memory_bytes,
                "disk_entries": len(files),
                "disk_bytes": sum(sizes),
                "disk_limit": self.disk_bytes,
                "folder": str(self.folder) if self.use_disk else None,
            }

    # -- memory tier --------------------------------------------------------------------------
    def _remember(self, key: str, entry: CachedInversion) -> None:
        old = self._memory.pop(key, None)
        if old is not None:
            self._memory_used -= old[1]
        size = entry.nbytes()
        if size > self.memory_bytes:
            return  # bigger than the whole budget: disk only
        self._memory[key] = (entry, size)
        self._memory_used += size
        while self._memory_used > self.memory_bytes:
            _, (_, dropped) = self._memory.popitem(last=False)
            self._memory_used -= dropped

    # -- disk tier ----------------------------------------------------------------------------
    def _write(self, key: str, path: Path, entry: CachedInversion) -> None:
        try:
            data = entry_bytes(key, entry)
            if len(data) > self.disk_bytes:
                return  # larger than the whole disk budget: memory only
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        except Exception as exc:  # noqa: BLE001  (a full disk must not fail the edit)
            log.warning("could not write inversion cache entry %s: %s", path, exc)

    def _load(self, key: str, path: Path) -> CachedInversion | None:
        if not path.is_file():
            return None
        try:
            entry = _read_entry(path, key)
        except Exception as exc:  # noqa: BLE001  (corrupt entry: drop it, recompute)
            log.warning("dropping unreadable inversion cache entry %s: %s", path, exc)
            _unlink(path)
            return None
        try:
            os.utime(path)  # recently used: last to be evicted
        except OSError:
            pass
        return entry

    def _disk_files(self, include_tmp: bool = False) -> list[Path]:
        try:
            names = list(self.folder.iterdir())
        except OSError:
            return []
        return [
            p for p in names
            if p.name.endswith(SUFFIX) or (include_tmp and p.name.endswith(".tmp"))
        ]

    def _bound_disk(self, keep: Path) -> None:
        files = []
        for p in self._disk_files():
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime_ns, p, st.st_size))
        total = sum(size for _, _, size in files)
        for _, p, size in sorted(files, key=lambda f: (f[0], f[1] != keep)):
            if total <= self.disk_bytes:
                break
            if p == keep:
                continue
            _unlink(p)
            total -= size

    def _remove_stale_tmp(self) -> None:
        now = time.time()
        for p in self._disk_files(include_tmp=True):
            if p.name.endswith(".tmp"):
                try:
                    if now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                        _unlink(p)
                except OSError:
                    pass


def entry_bytes(key: str, entry: CachedInversion) -> bytes:
    """`entry` as one safetensors blob naming `key`, with a checksum of its tensors: the form
    of a disk entry and of an inversion carried in a project file."""
    from safetensors.torch import save

    # safetensors refuses tensors that share memory (the trajectory holds y0 and latent, and
    # a masked edit's trajectory points can be views of one buffer)
    tensors = {k: t.detach().to("cpu").contiguous().clone() for k, t in entry.tensors().items()}
    metadata = {
        "format": FORMAT,
        "key": key,
        "checksum": _checksum(tensors),
        "trajectory": str(len(entry.trajectory)) if entry.trajectory is not None else "none",
        "source_velocities": _count(entry.source_velocities),
        "meta": json.dumps(entry.meta, sort_keys=True, default=str),
    }
    return save(tensors, metadata=metadata)


def entry_from_bytes(key: str, data: bytes) -> CachedInversion:
    """The entry `entry_bytes(key, ...)` made; ValueError if `data` is anything else."""
    from safetensors.torch import load

    try:
        tensors = load(bytes(data))
    except Exception as exc:  # noqa: BLE001  (safetensors raises its own error types)
        raise ValueError(f"not a safetensors file ({exc})") from exc
    return _entry(tensors, _header_metadata(data), key)


def _read_entry(path: Path, key: str) -> CachedInversion:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    return _entry(tensors, metadata, key)


def _entry(tensors: dict[str, torch.Tensor], metadata: dict[str, str], key: str) -> CachedInversion:
    """Check a decoded entry: format, key, checksum, names, shapes alike, finite values."""
    if metadata.get("format") != FORMAT:
        raise ValueError(f"unknown format {metadata.get('format')!r}")
    if metadata.get("key") != key:
        raise ValueError("entry belongs to another key")
    if _checksum(tensors) != metadata.get("checksum"):
        raise ValueError("checksum mismatch")
    count = metadata.get("trajectory", "none")
    trajectory = None
    if count != "none":
        if not count.isdigit():
            raise ValueError(f"bad trajectory length {count!r}")
        trajectory = [tensors[f"trajectory.{i:05d}"] for i in range(int(count))]
    velocities = None
    count = metadata.get("source_velocities", "none")
    if count != "none":
        if not count.isdigit():
            raise ValueError(f"bad source velocity count {count!r}")
        velocities = [tensors[f"source_velocity.{i:05d}"] for i in range(int(count))]
    meta = json.loads(metadata.get("meta", "{}"))
    if not isinstance(meta, dict):
        raise ValueError("metadata is not a dictionary")
    entry = CachedInversion(
        y0=tensors["y0"], y1=tensors["y1"], latent=tensors["latent"],
        trajectory=trajectory, meta=meta, source_velocities=velocities,
    )
    named = entry.tensors()
    if set(named) != set(tensors):
        raise ValueError("unexpected tensors")
    shape = entry.y0.shape
    for name, t in named.items():
        if t.shape != shape or not t.is_floating_point():
            raise ValueError(f"{name} has shape {tuple(t.shape)} {t.dtype}, y0 {tuple(shape)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} holds NaN or infinite values")
    return entry


def _header_metadata(data: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (the format: u64 length, then JSON)."""
    if len(data) < 8:
        raise ValueError("truncated")
    size = int.from_bytes(data[:8], "little")
    if size <= 0 or 8 + size > len(data):
        raise ValueError("bad header")
    header = json.loads(bytes(data[8:8 + size]))
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def _count(tensors: list[torch.Tensor] | None) -> str:
    return str(len(tensors)) if tensors is not None else "none"


def _to_cpu(entry: CachedInversion) -> CachedInversion:
    def cpu(t: torch.Tensor) -> torch.Tensor:
        return t.detach().to("cpu")

    traj = [cpu(t) for t in entry.trajectory] if entry.trajectory is not None else None
    velocities = entry.source_velocities
    if velocities is not None:
        velocities = [cpu(t) for t in velocities]
    return CachedInversion(
        y0=cpu(entry.y0), y1=cpu(entry.y1), latent=cpu(entry.latent),
        trajectory=traj, meta=dict(entry.meta), source_velocities=velocities,
    )


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", p, exc)
