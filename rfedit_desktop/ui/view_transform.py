"""Mapping between document pixels and widget (logical) pixels: zoom and pan.

`zoom` counts document pixels per *physical* screen pixel, so 100 % shows the picture pixel for
pixel on a high-DPI screen too; `scale` (zoom / device pixel ratio) is what maps to the logical
coordinates Qt widgets work in. Kept free of widgets so it can be tested on its own.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, QSizeF

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
# Wheel steps land on these values (and their reciprocals), so repeated zooming returns to
# exactly 100 % instead of drifting to 99.7 %.
ZOOM_STEP = 2 ** (1 / 4)


class ViewTransform:
    def __init__(self, device_pixel_ratio: float = 1.0) -> None:
        self.zoom = 1.0
        self.origin = QPointF(0.0, 0.0)  # where document (0, 0) lands, in logical pixels
        self.dpr = max(0.1, float(device_pixel_ratio))

    @property
    def scale(self) -> float:
        return self.zoom / self.dpr

    def to_view(self, p: QPointF) -> QPointF:
        s = self.scale
        return QPointF(self.origin.x() + p.x() * s, self.origin.y() + p.y() * s)

    def to_doc(self, v: QPointF) -> QPointF:
        s = self.scale
        return QPointF((v.x() - self.origin.x()) / s, (v.y() - self.origin.y()) / s)

    def rect_to_view(self, r: QRectF | QRect) -> QRectF:
        r = QRectF(r)
        s = self.scale
        return QRectF(self.origin.x() + r.x() * s, self.origin.y() + r.y() * s,
                      r.width() * s, r.height() * s)

    def rect_to_doc(self, r: QRectF | QRect) -> QRectF:
        r = QRectF(r)
        s = self.scale
        return QRectF((r.x() - self.origin.x()) / s, (r.y() - self.origin.y()) / s,
                      r.width() / s, r.height() / s)

    def zoom_at(self, view_pos: QPointF, new_zoom: float) -> None:
        """Change the zoom keeping the document point under `view_pos` where it is."""
        new_zoom = min(MAX_ZOOM, max(MIN_ZOOM, float(new_zoom)))
        anchor = self.to_doc(view_pos)
        self.zoom = new_zoom
        s = self.scale
        self.origin = QPointF(view_pos.x() - anchor.x() * s, view_pos.y() - anchor.y() * s)

    def pan(self, dx: float, dy: float) -> None:
        self.origin = QPointF(self.origin.x() + dx, self.origin.y() + dy)

    def center(self, doc_size: QSize | QSizeF, view_size: QSize | QSizeF) -> None:
        """Centre the document, snapped to whole physical pixels so 100 % is pixel-exact."""
        s = self.scale
        x = (view_size.width() - doc_size.width() * s) / 2
        y = (view_size.height() - doc_size.height() * s) / 2
        self.origin = QPointF(round(x * self.dpr) / self.dpr, round(y * self.dpr) / self.dpr)

    def fit(self, doc_size: QSize | QSizeF, view_size: QSize | QSizeF, margin: int = 16) -> None:
        """The whole document visible and centred (may zoom in on a small document)."""
        w = max(1.0, view_size.width() - 2 * margin)
        h = max(1.0, view_size.height() - 2 * margin)
        dw = max(1.0, float(doc_size.width()))
        dh = max(1.0, float(doc_size.height()))
        self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, min(w / dw, h / dh) * self.dpr))
        self.center(doc_size, view_size)


def next_zoom(zoom: float, steps: float) -> float:
    """`steps` wheel notches up (positive) or down from `zoom`, snapped to the zoom ladder.

    Whole notches land on powers of ZOOM_STEP; fractional ones (touchpads) scale smoothly.
    """
    if steps != int(steps):
        return min(MAX_ZOOM, max(MIN_ZOOM, zoom * ZOOM_STEP**steps))
    level = math.log(zoom, ZOOM_STEP)
    if abs(level - round(level)) < 1e-6:
        target = round(level) + steps
    else:
        target = math.floor(level) + steps if steps > 0 else math.ceil(level) + steps
    return min(MAX_ZOOM, max(MIN_ZOOM, ZOOM_STEP**target))
