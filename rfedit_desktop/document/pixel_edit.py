"""Changing a rectangle of a layer's pixels as one undo step that stores only touched tiles.

Fill, clear-selection and cut change pixels inside a box; like a brush stroke they save the
64x64 tiles under the box first and push a `StrokeCommand`, so the history holds those tiles
(within the memory budget) instead of whole layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor

from .commands import StrokeCommand
from .errors import DocumentError
from .history import STROKE_TILE, StrokeTiles
from .image_io import color_to_native
from .layer import Layer

if TYPE_CHECKING:
    from .document import Document


def edit_pixels(
    doc: Document,
    layer: Layer,
    rect: QRect,
    change: Callable[[np.ndarray, QRect], None],
    text: str,
) -> StrokeCommand:
    """Call `change(pixels, box)` on the layer's pixels under `rect` (document coordinates),
    in place, and push one undo step. `pixels` is the writable HxWx4 native view of `box`."""
    box = rect & layer.bounds() & doc.rect()
    if box.isEmpty():
        raise DocumentError(f'Nothing to change: the area is outside layer "{layer.name}".')
    tiles = StrokeTiles(layer)
    arr = layer.array()
    lx, ly, w, h = box.x() - layer.x, box.y() - layer.y, box.width(), box.height()
    T = STROKE_TILE
    for ty in range(ly // T, (ly + h - 1) // T + 1):
        for tx in range(lx // T, (lx + w - 1) // T + 1):
            x, y, tw, th = tiles.tile_rect((tx, ty))
            tiles.tiles[(tx, ty)] = arr[y : y + th, x : x + tw].copy()
    change(arr[ly : ly + h, lx : lx + w], box)
    cmd = StrokeCommand(doc, tiles, box, text)
    doc.undo_stack.push(cmd)
    doc.history_budget.register(cmd, tiles)
    doc.stack.pixels_touched(layer, box, final=True)
    return cmd


def blend_colour(pixels: np.ndarray, cov: np.ndarray | None, color: QColor) -> None:
    """Source-over `color` onto premultiplied `pixels` with coverage `cov` (None = all)."""
    col = color_to_native(color)
    if cov is None:
        a = col[3] / 255.0
        pixels[...] = np.rint(pixels * (1.0 - a) + col).astype(np.uint8)
        return
    k = cov.astype(np.float32)[..., None] / 255.0
    out = pixels * (1.0 - k * (col[3] / 255.0)) + col * k
    pixels[...] = np.rint(out).astype(np.uint8)


def erase(pixels: np.ndarray, cov: np.ndarray) -> None:
    """Remove coverage `cov` (255 = all) of premultiplied `pixels`."""
    keep = (255 - cov.astype(np.uint16))[..., None]
    pixels[...] = ((pixels * keep + 127) // 255).astype(np.uint8)
