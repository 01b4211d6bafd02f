"""Cached inversions as bytes, so that a project file can carry them (an opt-in setting).

The GUI never imports torch: its jobs layer asks the engine for an entry's bytes and hands bytes
back. Both calls take and return plain bytes and strings, so they work the same when the engine
runs in another process. The blob is the disk cache's own (`cache.entry_bytes`), checksum
included; its key names the model, so an entry made with another model is kept but never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EditError
from .cache import entry_bytes, entry_from_bytes
from .inversion import cached_inversion, inversion_key
from .prepare import prepare
from .request import EditRequest

if TYPE_CHECKING:
    from .session import Engine


def export_inversion(engine: Engine, request: EditRequest) -> tuple[str, bytes] | None:
    """(cache key, bytes) of the cached inversion `request` would use, or None if none is."""
    if request.method == "sdedit":
        return None
    prepared = prepare(engine, request)
    entry = cached_inversion(engine, request, prepared)
    if entry is None:
        return None
    key = inversion_key(engine, request, prepared)
    return key, entry_bytes(key, entry)


def import_inversion(engine: Engine, key: str, data: bytes) -> None:
    """Put one exported inversion into the engine's cache; EditError if `data` is damaged."""
    try:
        entry = entry_from_bytes(key, data)
    except (ValueError, KeyError) as exc:
        raise EditError(f"a stored inversion is damaged ({exc}); it will be recomputed") from exc
    engine.cache.put(key, entry)
