"""The composite image, cached in tiles and redrawn only where something changed.

A dab on a 4096x4096 document must not recomposite 16 million pixels of ten layers. The cache
keeps 256x256 tiles of the composite; each tile remembers the part of it that is stale, and only
that rectangle is recomposited from the layer tree (bottom to top, each layer with its blend
mode and opacity; a group composited as a unit first when its properties need it). Stale regions
come from Document via `invalidate(rect)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter, QRegion

from .blend import CLEARS_UNCOVERED, composition_mode
from .blend_pixels import blend_into
from .image_io import FORMAT, native_view, new_image
from .layer import Node

TILE = 256


def _read_view(img: QImage, rect: QRect) -> np.ndarray:
    """A read-only HxWx4 view of `rect` of `img` (constBits: never detaches a shared image)."""
    h, bpl = img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    x, y, w = rect.x(), rect.y(), rect.width()
    return buf[y : y + rect.height(), x * 4 : (x + w) * 4].reshape(rect.height(), w, 4)


class _Canvas:
    """An image being composited into: one QPainter kept open across the layers Qt blends,
    closed while numpy writes the pixels."""

    def __init__(self, image: QImage):
        self.image = image
        self._painter: QPainter | None = None

    def painter(self) -> QPainter:
        if self._painter is None:
            self._painter = QPainter(self.image)
        return self._painter

    def pixels(self) -> np.ndarray:
        self.close()
        return native_view(self.image)

    def close(self) -> None:
        if self._painter is not None:
            self._painter.end()
            self._painter = None


def _blend(
    canvas: _Canvas, at: QPoint, source: QImage, src_rect: QRect, mode: str, opacity: float
) -> None:
    if source.format() != FORMAT:
        source = source.convertToFormat(FORMAT)
    qt_mode = composition_mode(mode)
    if qt_mode is not None and (opacity >= 1.0 or mode == "normal"):
        if opacity < 1.0:
            # Qt's own opacity arithmetic drifts up to 3 levels; source-over of the source
            # scaled by the opacity is the same formula, and the 8-bit rounding of the scaled
            # source moves it by at most one level (modes with steeper B would amplify it)
            faded = _read_view(source, src_rect) * np.float32(opacity)
            faded += 0.5
            pixels = faded.astype(np.uint8)
            h, w = pixels.shape[:2]
            source = QImage(pixels.data, w, h, w * 4, FORMAT)
            src_rect = source.rect()
        p = canvas.painter()
        p.setCompositionMode(qt_mode)
        p.drawImage(at, source, src_rect)
        return
    dst_rect = QRect(at, src_rect.size()) & canvas.image.rect()
    if dst_rect.isEmpty():
        return
    src_rect = QRect(src_rect.topLeft() + (dst_rect.topLeft() - at), dst_rect.size())
    dst = canvas.pixels()[
        dst_rect.top() : dst_rect.bottom() + 1, dst_rect.left() : dst_rect.right() + 1
    ]
    blend_into(dst, _read_view(source, src_rect), mode, opacity)


def _clear_uncovered(canvas: _Canvas, area: QRect, covered: QRect, mode: str) -> None:
    """A dst-in or dst-atop layer leaves nothing of the backdrop where it has no pixel."""
    if mode not in CLEARS_UNCOVERED:
        return
    outside = QRegion(area).subtracted(QRegion(covered))
    if outside.isEmpty():
        return
    p = canvas.painter()
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    for rect in outside:
        p.fillRect(rect, Qt.GlobalColor.transparent)


def blend_image(
    target: QImage, at: QPoint, source: QImage, src_rect: QRect, mode: str, opacity: float
) -> None:
    """Composite `src_rect` of `source` onto `target` at `at` with a blend mode and opacity.

    The one way pixels are blended: Qt where it is exact (see blend.py),
    numpy otherwise."""
    canvas = _Canvas(target)
    _clear_uncovered(canvas, target.rect(), QRect(at, src_rect.size()), mode)
    _blend(canvas, at, source, src_rect, mode, opacity)
    canvas.close()


def composite_layers(nodes: Sequence[Node], target: QImage, origin: QPoint, area: QRect) -> None:
    """Composite the tree `nodes` (bottom first) into `target` over `area` (document
    coordinates).

    `target`'s pixel (0, 0) is document point `origin`. The area is cleared first. Masks and
    hidden nodes are skipped.
    """
    canvas = _Canvas(target)
    p = canvas.painter()
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    p.fillRect(area.translated(-origin), Qt.GlobalColor.transparent)
    _paint(nodes, canvas, origin, area)
    canvas.close()


def _paint(nodes: Sequence[Node], canvas: _Canvas, origin: QPoint, area: QRect) -> None:
    for node in nodes:
        if not node.visible or node.is_mask or node.opacity <= 0:
            continue
        inter = node.bounds() & area
        _clear_uncovered(canvas, area.translated(-origin), inter.translated(-origin),
                         node.blend_mode)
        if inter.isEmpty():
            continue
        if not node.is_group:
            at = inter.topLeft() - origin
            src = inter.translated(-node.x, -node.y)
            _blend(canvas, at, node.image, src, node.blend_mode, node.opacity)
        elif node.composited_as_unit:
            unit = _Canvas(new_image(inter.width(), inter.height()))
            _paint(node.children, unit, inter.topLeft(), inter)
            unit.close()
            at = inter.topLeft() - origin
            _blend(canvas, at, unit.image, unit.image.rect(), node.blend_mode, node.opacity)
        else:
            _paint(node.children, canvas, origin, area)


class CompositeCache:
    """Tiles of the composite of the tree `layers()` (top-level nodes) over a width x height
    canvas."""

    def __init__(self, width: int, height: int, layers: Callable[[], Sequence[Node]]):
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
