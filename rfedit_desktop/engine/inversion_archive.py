"""Cached inversions as bytes, so a project file can carry them (an opt-in user setting).

An entry is the engine's `CachedInversion` written as safetensors with its cache key, so that a
reopened project re-edits its source at once, without inverting again. The key names the model,
so an entry made with another model is stored but never matches. The name helpers are
torch-free (the GUI uses them); the rest runs in the engine process.
"""

from __future__ import annotations

import json
import re
from typing import Any

PREFIX = "inversion-"  # extra file names in a project are flat: [A-Za-z0-9._-]{1,100}
SUFFIX = ".safetensors"
_KEY = re.compile(r"^[0-9A-Za-z_-]{1,77}$")


def file_name(key: str) -> str:
    return f"{PREFIX}{key}{SUFFIX}"


def key_of(name: str) -> str | None:
    """The cache key a project file entry holds, or None if the name is not ours or unsafe."""
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    key = name[len(PREFIX):-len(SUFFIX)]
    return key if _KEY.match(key) else None


def export_inversion(engine: Any, request: Any) -> tuple[str, bytes] | None:
    """(file name, bytes) of the cached inversion `request` would use, or None if not cached."""
    from safetensors.torch import save

    from rfedit_desktop.engine.pipeline import inversion_key, prepare

    if request.method == "sdedit":
        return None
    key = inversion_key(engine, request, prepare(engine, request))
    entry = engine.cache.get(key)
    if entry is None:
        return None
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in entry.tensors().items()}
    count = len(entry.trajectory) if entry.trajectory is not None else "none"
    metadata = {"key": key, "trajectory": str(count), "meta": json.dumps(entry.meta)}
    return file_name(key), save(tensors, metadata=metadata)


def import_inversions(engine: Any, files: dict[str, bytes]) -> int:
    """Put the project's entries into the engine's cache; damaged ones are skipped. Count."""
    from safetensors import safe_open  # noqa: F401  (fail early if safetensors is missing)
    from safetensors.torch import load

    from rfedit_desktop.engine.cache import CachedInversion

    added = 0
    for name, data in files.items():
        key = key_of(name)
        if key is None:
            continue
        try:
            tensors = load(bytes(data))
            metadata = _metadata(bytes(data))
            if metadata.get("key") != key:
                continue
            count = metadata.get("trajectory", "none")
            trajectory = None
            if count != "none":
                trajectory = [tensors[f"trajectory.{i:05d}"] for i in range(int(count))]
            entry = CachedInversion(y0=tensors["y0"], y1=tensors["y1"],
                                    latent=tensors["latent"], trajectory=trajectory,
                                    meta=json.loads(metadata.get("meta", "{}")))
        except Exception:  # noqa: BLE001 - a damaged entry is only a missed shortcut
            continue
        engine.cache.put(key, entry)
        added += 1
    return added


def _metadata(data: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (the format: u64 length, then JSON)."""
    if len(data) < 8:
        raise ValueError("truncated")
    size = int.from_bytes(data[:8], "little")
    if size <= 0 or 8 + size > len(data):
        raise ValueError("bad header")
    header = json.loads(data[8:8 + size])
    meta = header.get("__metadata__", {})
    return dict(meta) if isinstance(meta, dict) else {}
