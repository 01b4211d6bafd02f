"""Brush engine: round dabs along a stroke, painted straight into the layer.

Model (per stroke, per pixel):
- Each dab has a profile 1 in the core, smoothly falling to 0 at the rim; `hardness` is the
  core's share of the radius (a hard brush still gets a one-pixel anti-aliased rim).
- The stroke keeps a coverage buffer `cov`. A dab of strength d (profile x pressure when
  pressure drives opacity) raises cov towards d by `flow`: cov += max(0, d - cov) * flow.
  Overlapping dabs therefore build up with a low flow but never exceed d.
- The layer pixel is its pre-stroke value composited with the colour at alpha cov x `opacity`
  (source-over; destination-out for the eraser; colour-only when the layer's alpha is locked).
  Since every dab recomputes from the saved pre-stroke tile, opacity caps the whole stroke,
  as artists expect, while the stroke still appears live in the layer.

The pre-stroke tiles (64x64) are saved lazily the first time a dab touches them; at `end()`
they become the StrokeCommand's undo data, so history stores only touched tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QColor

from .commands import StrokeCommand
from .errors import DocumentError
from .history import STROKE_TILE, StrokeTiles
from .image_io import NATIVE_RGBA, color_to_native
from .layer import Layer


@dataclass
class BrushSettings:
    """What the tool options panel edits. Sizes are diameters in document pixels."""

    size: float = 20.0
    hardness: float = 0.8
    opacity: float = 1.0
    flow: float = 1.0
    spacing: float = 0.15
    """Distance between dabs as a fraction of the current diameter."""
    color: QColor = field(default_factory=lambda: QColor(0, 0, 0))
    eraser: bool = False
    pressure_size: bool = True
    """Pressure scales the diameter between `min_size` x size and size."""
    pressure_opacity: bool = False
    """Pressure scales each dab's strength."""
    min_size: float = 0.2


class Stroke:
    """One drag of a brush on one layer. Usage::

        s = Stroke(doc, settings)
        dirty = s.begin(layer, QPointF(x, y), pressure)   # document coordinates
        dirty = s.move(QPointF(x2, y2), pressure)          # per mouse/tablet event
        s.end()                                            # pushes ONE StrokeCommand

    begin/move return the changed document rectangle (also emitted as region_changed). On the
    mask layer the colour is ignored (the mask is coverage only); with `eraser=True` the same
    stroke erases. `cancel()` restores the layer and pushes nothing. `prelude` (see
    Document.mask_for_stroke): commands already run for this stroke, undone with it as one
    history entry, or at once when the stroke is cancelled or paints nothing.
    """

    def __init__(self, document, settings: BrushSettings):
        self.doc = document
        self.settings = settings
        self.layer: Layer | None = None
        self._tiles: StrokeTiles | None = None
        self._cov: dict[tuple[int, int], np.ndarray] = {}
        self._last: tuple[float, float, float] | None = None
        self._residual = 0.0
        self._dirty = QRect()
        self._color = np.zeros(4, np.float32)
        self._prelude: list = []
        self.dab_count = 0

    @property
    def active(self) -> bool:
        return self.layer is not None

    def begin(
        self, layer, point: QPointF | QPoint, pressure: float = 1.0, prelude: list | None = None
    ) -> QRect:
        """Start on `layer` (Layer or id) with a first dab at `point`."""
        if self.active:
            raise DocumentError("This stroke has already begun.")
        la = self.doc.layer(layer)
        if la.is_group:
            raise DocumentError(f'"{la.name}" is a group: select a layer in it to paint.')
        self._prelude = list(prelude or [])
        self.layer = la
        self._tiles = StrokeTiles(la)
        self._cov = {}
        self._dirty = QRect()
        self._residual = 0.0
        s = self.settings
        color = QColor(255, 255, 255) if la.is_mask else QColor(s.color)
        color.setAlphaF(1.0)
        self._color = color_to_native(color)
        x, y, p = float(point.x()), float(point.y()), _clamp01(pressure)
        self._last = (x, y, p)
        return self._emit(self._dab(x, y, p))

    def move(self, point: QPointF | QPoint, pressure: float = 1.0) -> QRect:
        """Continue to `point`, placing dabs every spacing x diameter along the segment."""
        if not self.active or self._last is None:
            raise DocumentError("Stroke.move() before begin().")
        x1, y1, p1 = float(point.x()), float(point.y()), _clamp01(pressure)
        x0, y0, p0 = self._last
        dist = math.hypot(x1 - x0, y1 - y0)
        dirty = QRect()
        travelled = -self._residual
        if dist > 0:
            while True:
                # step from the last dab by spacing at the pressure reached there
                t_here = max(travelled, 0.0) / dist
                p_here = p0 + (p1 - p0) * t_here
                step = max(self.settings.spacing * self._diameter(p_here), 0.5)
                if travelled + step > dist:
                    break
                travelled += step
                t = travelled / dist
                dirty |= self._dab(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, p0 + (p1 - p0) * t)
            self._residual = dist - travelled
        self._last = (x1, y1, p1)
        return self._emit(dirty)

    def end(self) -> StrokeCommand | None:
        """Finish: push one StrokeCommand holding the touched tiles (None if nothing changed)."""
        if not self.active:
            return None
        tiles, layer, dirty = self._tiles, self.layer, QRect(self._dirty)
        prelude = self._prelude
        self._reset()
        if not tiles.tiles:
            for c in reversed(prelude):
                c.undo()
            return None
        if layer.is_mask:
            text = "Mask eraser" if self.settings.eraser else "Mask brush"
        else:
            text = "Eraser stroke" if self.settings.eraser else "Brush stroke"
        cmd = StrokeCommand(self.doc, tiles, dirty, text, prelude)
        self.doc.undo_stack.push(cmd)
        self.doc.history_budget.register(cmd, tiles)
        self.doc.layer_pixels_changed.emit(layer.id)
        return cmd

    def cancel(self) -> None:
        """Put back the pre-stroke pixels and forget the stroke."""
        if not self.active:
            return
        box = self._tiles.swap()
        layer = self.layer
        prelude = self._prelude
        self._reset()
        if box is not None:
            x, y, w, h = box
            self.doc.stack.pixels_touched(layer, QRect(x + layer.x, y + layer.y, w, h))
        for c in reversed(prelude):
            c.undo()

    # ------------------------------------------------------------------ internals
    def _reset(self) -> None:
        self.layer = None
        self._tiles = None
        self._cov = {}
        self._last = None
        self._prelude = []

    def _emit(self, rect: QRect) -> QRect:
        if not rect.isEmpty():
            self._dirty |= rect
            self.doc.stack.pixels_touched(self.layer, rect)
        return rect

    def _diameter(self, pressure: float) -> float:
        s = self.settings
        if s.pressure_size:
            return max(s.size * (s.min_size + (1 - s.min_size) * pressure), 1.0)
        return max(s.size, 1.0)

    def _dab(self, cx: float, cy: float, pressure: float) -> QRect:
        """Paint one dab centred at document point (cx, cy); return the changed doc rect."""
        s = self.settings
        la = self.layer
        r = self._diameter(pressure) / 2
        strength = pressure if s.pressure_opacity else 1.0
        if strength <= 0:
            return QRect()
        lx, ly = cx - la.x, cy - la.y
        x0 = max(int(math.floor(lx - r)), 0)
        y0 = max(int(math.floor(ly - r)), 0)
        x1 = min(int(math.ceil(lx + r)) + 1, la.width)
        y1 = min(int(math.ceil(ly + r)) + 1, la.height)
        if x0 >= x1 or y0 >= y1:
            return QRect()
        self.dab_count += 1
        arr = la.array()
        inner = r * min(max(s.hardness, 0.0), 1.0)
        fall = max(r - inner, 1.0)
        opacity = min(max(s.opacity, 0.0), 1.0)
        flow = min(max(s.flow, 0.0), 1.0)
        T = STROKE_TILE
        for ty in range(y0 // T, (y1 - 1) // T + 1):
            for tx in range(x0 // T, (x1 - 1) // T + 1):
                key = (tx, ty)
                bx, by = tx * T, ty * T
                before = self._tiles.tiles.get(key)
                if before is None:
                    _, _, tw, th = self._tiles.tile_rect(key)
                    before = arr[by : by + th, bx : bx + tw].copy()
                    self._tiles.tiles[key] = before
                    self._cov[key] = np.zeros((th, tw), np.float32)
                cov = self._cov[key]
                sx0, sy0 = max(x0, bx), max(y0, by)
                sx1, sy1 = min(x1, bx + before.shape[1]), min(y1, by + before.shape[0])
                xs = np.arange(sx0, sx1, dtype=np.float32) + 0.5 - lx
                ys = np.arange(sy0, sy1, dtype=np.float32) + 0.5 - ly
                d = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
                t = np.clip((r - d) / fall, 0.0, 1.0)
                prof = t * t * (3.0 - 2.0 * t) * strength
                c = cov[sy0 - by : sy1 - by, sx0 - bx : sx1 - bx]
                np.maximum(c, c + (prof - c) * flow, out=c)
                alpha = (c * opacity)[..., None]
                src = before[sy0 - by : sy1 - by, sx0 - bx : sx1 - bx].astype(np.float32)
                if s.eraser:
                    out = src * (1.0 - alpha)
                elif la.alpha_locked and not la.is_mask:
                    a_idx = NATIVE_RGBA[3]
                    dst_a = src[..., a_idx : a_idx + 1] / 255.0
                    target = self._color * dst_a
                    out = src + (target - src) * alpha
                    out[..., a_idx] = src[..., a_idx]
                else:
                    out = src * (1.0 - alpha) + self._color * alpha
                arr[sy0:sy1, sx0:sx1] = (out + 0.5).astype(np.uint8)
        return QRect(x0 + la.x, y0 + la.y, x1 - x0, y1 - y0)


def pick_color(document, point: QPoint | QPointF, sample: str = "composite", layer=None) -> QColor:
    """The colour under `point` (document coordinates) as a straight-alpha QColor.

    `sample="composite"`: the visible picture; `sample="layer"`: `layer` (default: the active
    layer) alone. Outside the image: transparent.
    """
    x, y = int(math.floor(point.x())), int(math.floor(point.y()))
    if sample == "composite":
        if not document.rect().contains(x, y):
            return QColor(0, 0, 0, 0)
        img = document.composite(QRect(x, y, 1, 1))
        px = img.pixelColor(0, 0)
    elif sample == "layer":
        la = document.layer(layer) if layer is not None else document.active_layer
        if la is None or not la.bounds().contains(x, y):
            return QColor(0, 0, 0, 0)
        px = la.image.pixelColor(x - la.x, y - la.y)
    else:
        raise ValueError(f"sample must be 'composite' or 'layer', not {sample!r}")
    return QColor(px.red(), px.green(), px.blue(), px.alpha())


def _clamp01(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)
