"""The composite image, cached in tiles and redrawn only where something changed.

A dab on a 4096x4096 document must not recomposite 16 million pixels of ten layers. The cache
keeps 256x256 tiles of the composite; each tile remembers the part of it that is stale, and only
that rectangle is recomposited from the layers (QPainter, bottom to top, each layer with its
blend mode and opacity). Stale regions come from Document via `invalidate(rect)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter

from .blend import composition_mode
from .image_io import new_image
from .layer import Layer

TILE = 256


def composite_layers(layers: Sequence[Layer], target: QImage, origin: QPoint, area: QRect) -> None:
    """Composite `layers` (bottom first) into `target` over `area` (document coordinates).

    `target`'s pixel (0, 0) is document point `origin`. The area is cleared first. Masks and
    hidden layers are skipped.
    """
    p = QPainter(target)
    local = area.translated(-origin)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    p.fillRect(local, Qt.GlobalColor.transparent)
    for layer in layers:
        if not layer.visible or layer.is_mask or layer.opacity <= 0:
            continue
        inter = layer.bounds() & area
        if inter.isEmpty():
            continue
        p.setCompositionMode(composition_mode(layer.blend_mode))
        p.setOpacity(layer.opacity)
        p.drawImage(inter.topLeft() - origin, layer.image, inter.translated(-layer.x, -layer.y))
    p.end()


class CompositeCache:
    """Tiles of the composite of `layers()` over a width x height canvas."""

    def __init__(self, width: int, height: int, layers: Callable[[], Sequence[Layer]]):
        self.width = width
        self.height = height
        self._layers = layers
        self._tiles: dict[tuple[int, int], QImage] = {}
        self._stale: dict[tuple[int, int], QRect] = {}
        self.tiles_rendered = 0  # a counter for tests and benchmarks

    def rect(self) -> QRect:
        return QRect(0, 0, self.width, self.height)

    def _keys(self, rect: QRect):
        rect = rect & self.rect()
        if rect.isEmpty():
            return
        for ty in range(rect.top() // TILE, rect.bottom() // TILE + 1):
            for tx in range(rect.left() // TILE, rect.right() // TILE + 1):
                yield tx, ty

    def _tile_rect(self, key: tuple[int, int]) -> QRect:
        x, y = key[0] * TILE, key[1] * TILE
        return QRect(x, y, min(TILE, self.width - x), min(TILE, self.height - y))

    def invalidate(self, rect: QRect | None = None) -> None:
        """Mark `rect` (document coordinates; None = everything) as needing recompositing."""
        if rect is None:
            self._stale.clear()
            for key in self._tiles:
                self._stale[key] = self._tile_rect(key)
            return
        for key in self._keys(rect):
            if key not in self._tiles:
                continue
            part = rect & self._tile_rect(key)
            old = self._stale.get(key)
            self._stale[key] = part if old is None else old | part

    def clear(self) -> None:
        """Forget every tile (memory) — they are rebuilt on demand."""
        self._tiles.clear()
        self._stale.clear()

    def tile(self, key: tuple[int, int]) -> QImage:
        """The up-to-date composite tile `key` (tile column, row)."""
        img = self._tiles.get(key)
        trect = self._tile_rect(key)
        if img is None:
            img = new_image(trect.width(), trect.height())
            self._tiles[key] = img
            stale = trect
        else:
            stale = self._stale.pop(key, None)
        if stale is not None and not stale.isEmpty():
            composite_layers(self._layers(), img, trect.topLeft(), stale)
            self.tiles_rendered += 1
        self._stale.pop(key, None)
        return img

    def tiles(self, rect: QRect):
        """Yield (top-left QPoint, tile QImage) of every tile touching `rect`, up to date."""
        for key in self._keys(rect):
            yield QPoint(key[0] * TILE, key[1] * TILE), self.tile(key)

    def render(self, rect: QRect | None = None) -> QImage:
        """The composite over `rect` (default: the whole canvas) as a new image."""
        rect = self.rect() if rect is None else rect & self.rect()
        out = (
            new_image(max(rect.width(), 0), max(rect.height(), 0))
            if not rect.isEmpty()
            else QImage()
        )
        if rect.isEmpty():
            return out
        p = QPainter(out)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        for top_left, img in self.tiles(rect):
            src = QRect(top_left, img.size()) & rect
            p.drawImage(src.topLeft() - rect.topLeft(), img, src.translated(-top_left))
        p.end()
        return out
