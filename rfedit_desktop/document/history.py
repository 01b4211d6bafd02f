"""Undo memory for strokes: the touched tiles of each stroke, and a RAM budget over all of them.

A stroke stores only the 64x64 tiles it touched, once each. Undo and redo *swap* those tiles
with the layer's current pixels (the stack is linear, so at undo time the layer holds the
"after" state and vice versa), which keeps one copy per tile instead of two.

`HistoryBudget` keeps the newest strokes' tiles in RAM up to a byte budget; older ones are
zlib-compressed into an anonymous temporary file (deleted by the OS when closed) and read back
when that stroke is undone or redone. Memory use is therefore bounded however long the session,
and nothing is lost; the undo *count* limit is QUndoStack's own (set on an empty stack).
"""

from __future__ import annotations

import tempfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import shiboken6

from .layer import Layer

STROKE_TILE = 64
DEFAULT_BUDGET = 512 * 1024**2


@dataclass(eq=False)
class StrokeTiles:
    """Saved tiles of one stroke on one layer: key (col, row) -> pixels (h, w, 4) uint8."""

    layer: Layer
    tiles: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    spilled: dict[tuple[int, int], tuple[int, int, tuple[int, ...]]] | None = None

    def nbytes(self) -> int:
        """Bytes held in RAM by the tiles (0 while spilled to disk)."""
        return sum(int(t.nbytes) for t in self.tiles.values())

    def stored_bytes(self) -> int:
        """Uncompressed bytes of every tile, wherever they are."""
        if self.spilled is not None:
            return sum(int(np.prod(s[2])) for s in self.spilled.values())
        return self.nbytes()

    def tile_rect(self, key: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x, y, w, h) of a tile in layer coordinates."""
        x, y = key[0] * STROKE_TILE, key[1] * STROKE_TILE
        return x, y, min(STROKE_TILE, self.layer.width - x), min(STROKE_TILE, self.layer.height - y)

    def swap(self) -> tuple[int, int, int, int] | None:
        """Exchange saved tiles with the layer's pixels; return the layer-space bounding box."""
        arr = self.layer.array()
        x0 = y0 = 1 << 30
        x1 = y1 = -1
        for key, saved in self.tiles.items():
            x, y, w, h = self.tile_rect(key)
            region = arr[y : y + h, x : x + w]
            current = region.copy()
            region[...] = saved
            self.tiles[key] = current
            x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x + w), max(y1, y + h)
        if x1 < 0:
            return None
        return x0, y0, x1 - x0, y1 - y0


class HistoryBudget:
    """Tracks every live StrokeTiles in push order and spills the oldest past `budget` bytes."""

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = int(budget)
        self._entries: OrderedDict[int, tuple[object, StrokeTiles]] = OrderedDict()
        self._spill = None
        self._spill_end = 0
        self.spilled_bytes = 0

    def set_budget(self, budget: int) -> None:
        """Change the RAM budget (bytes); takes effect at once."""
        self.budget = max(0, int(budget))
        self._enforce()

    def register(self, command: object, tiles: StrokeTiles) -> None:
        """Count a new stroke's tiles (after its command was pushed)."""
        self._prune()
        self._entries[id(tiles)] = (command, tiles)
        self._enforce(keep=tiles)

    def ensure_loaded(self, tiles: StrokeTiles) -> None:
        """Bring a spilled stroke back into RAM before its undo/redo (it becomes newest)."""
        if tiles.spilled is not None:
            for key, (offset, length, shape) in tiles.spilled.items():
                self._spill.seek(offset)
                data = zlib.decompress(self._spill.read(length))
                tiles.tiles[key] = np.frombuffer(data, np.uint8).reshape(shape).copy()
            tiles.spilled = None
        if id(tiles) in self._entries:
            self._entries.move_to_end(id(tiles))
        self._enforce(keep=tiles)

    def ram_bytes(self) -> int:
        self._prune()
        return sum(t.nbytes() for _, t in self._entries.values())

    def stored_bytes(self) -> int:
        """Uncompressed bytes of all live strokes' tiles (RAM and disk)."""
        self._prune()
        return sum(t.stored_bytes() for _, t in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()
        if self._spill is not None:
            self._spill.close()
        self._spill = None
        self._spill_end = 0
        self.spilled_bytes = 0

    def _prune(self) -> None:
        """Drop strokes whose command QUndoStack deleted (undo limit, discarded redo branch)."""
        dead = [k for k, (cmd, _) in self._entries.items() if not shiboken6.isValid(cmd)]
        for k in dead:
            del self._entries[k]

    def _enforce(self, keep: StrokeTiles | None = None) -> None:
        total = sum(t.nbytes() for _, t in self._entries.values())
        for _cmd, tiles in list(self._entries.values()):
            if total <= self.budget:
                break
            if tiles is keep or tiles.spilled is not None:
                continue
            total -= tiles.nbytes()
            self._spill_out(tiles)

    def _spill_out(self, tiles: StrokeTiles) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="rfedit-undo-")
        spilled = {}
        for key, arr in tiles.tiles.items():
            data = zlib.compress(np.ascontiguousarray(arr).tobytes(), 1)
            self._spill.seek(self._spill_end)
            self._spill.write(data)
            spilled[key] = (self._spill_end, len(data), arr.shape)
            self._spill_end += len(data)
            self.spilled_bytes += len(data)
        self._spill.flush()
        tiles.tiles = {}
        tiles.spilled = spilled
