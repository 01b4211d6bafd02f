"""A selection: an 8-bit coverage image (255 = selected, soft edges in between), not a path.

Stored cropped to its bounding box, so a small selection on a big photo costs little in the
undo history; values are immutable (every operation returns a new Selection), so undo keeps
references instead of copies. Shapes are rasterised with QPainter (anti-aliased); feather,
grow and shrink are separable numpy filters over the box plus their radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPolygonF

from .errors import DocumentError

MODES = ("replace", "add", "subtract", "intersect")
"""How a new shape combines with the current selection (Shift = add, Alt = subtract)."""


@dataclass(frozen=True, eq=False)
class Selection:
    """Coverage `cov` (h x w uint8, read-only) with its top-left corner at (x, y) in the
    document. Never empty: operations that select nothing return None instead."""

    x: int
    y: int
    cov: np.ndarray

    @property
    def rect(self) -> QRect:
        return QRect(self.x, self.y, self.cov.shape[1], self.cov.shape[0])

    def full(self, width: int, height: int) -> np.ndarray:
        """The coverage at document size (a new writable array)."""
        out = np.zeros((height, width), np.uint8)
        r = self.rect & QRect(0, 0, width, height)
        if not r.isEmpty():
            out[r.top() : r.bottom() + 1, r.left() : r.right() + 1] = self.cov[
                r.top() - self.y : r.bottom() + 1 - self.y,
                r.left() - self.x : r.right() + 1 - self.x,
            ]
        return out

    def crop(self, rect: QRect) -> np.ndarray:
        """Coverage over `rect` (document coordinates; zero outside the selection)."""
        out = np.zeros((rect.height(), rect.width()), np.uint8)
        r = self.rect & rect
        if not r.isEmpty():
            out[
                r.top() - rect.top() : r.bottom() + 1 - rect.top(),
                r.left() - rect.left() : r.right() + 1 - rect.left(),
            ] = self.cov[
                r.top() - self.y : r.bottom() + 1 - self.y,
                r.left() - self.x : r.right() + 1 - self.x,
            ]
        return out

    def mask_array(self, width: int, height: int) -> np.ndarray:
        """HxW float32 in [0, 1] at document size: the AI edit mask this selection makes."""
        return self.full(width, height).astype(np.float32) / 255.0

    def nbytes(self) -> int:
        return int(self.cov.nbytes)

    # -------------------------------------------------------------- construction
    @staticmethod
    def from_array(cov: np.ndarray, x: int = 0, y: int = 0) -> Selection | None:
        """Crop `cov` (placed at x, y) to its non-zero box; None when nothing is selected."""
        cov = np.asarray(cov, np.uint8)
        rows = np.flatnonzero(cov.any(axis=1))
        if not len(rows):
            return None
        cols = np.flatnonzero(cov.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        part = np.ascontiguousarray(cov[r0:r1, c0:c1])
        part.setflags(write=False)
        return Selection(int(x + c0), int(y + r0), part)

    @staticmethod
    def from_path(path: QPainterPath, width: int, height: int) -> Selection | None:
        """An anti-aliased shape clipped to the document (None if it covers no pixel)."""
        box = path.boundingRect().toAlignedRect().adjusted(-1, -1, 1, 1) & QRect(
            0, 0, width, height
        )
        if box.isEmpty():
            return None
        img = QImage(box.width(), box.height(), QImage.Format.Format_Grayscale8)
        img.fill(0)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.translate(-box.x(), -box.y())
        p.fillPath(path, QColor(255, 255, 255))
        p.end()
        return Selection.from_array(gray_to_array(img), box.x(), box.y())

    # -------------------------------------------------------------- operations
    def combine(self, other: Selection | None, mode: str) -> Selection | None:
        """This selection with `other` added, subtracted or intersected (`replace`: other)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode == "replace":
            return other
        if other is None:
            return None if mode == "intersect" else self
        box = self.rect | other.rect
        a, b = self.crop(box), other.crop(box)
        if mode == "add":
            out = np.maximum(a, b)
        elif mode == "subtract":
            out = np.minimum(a, 255 - b)
        else:
            out = np.minimum(a, b)
        return Selection.from_array(out, box.x(), box.y())

    def inverted(self, width: int, height: int) -> Selection | None:
        return Selection.from_array(255 - self.full(width, height))

    def feathered(self, radius: float, width: int, height: int) -> Selection | None:
        """Soften the edge with a Gaussian of standard deviation radius/2 (three box blurs)."""
        if radius <= 0:
            return self
        sigma = radius / 2.0
        boxes = _box_sizes(sigma, 3)
        pad = sum(boxes)
        box = self.rect.adjusted(-pad, -pad, pad, pad) & QRect(0, 0, width, height)
        a = self.crop(box).astype(np.float32)
        for k in boxes:
            a = _box_blur(a, k // 2, 0)
            a = _box_blur(a, k // 2, 1)
        return Selection.from_array(np.clip(np.rint(a), 0, 255).astype(np.uint8), box.x(), box.y())

    def grown(self, radius: int, width: int, height: int) -> Selection | None:
        """Dilate by a disc of `radius` pixels (soft edges stay soft)."""
        r = int(radius)
        if r <= 0:
            return self
        box = self.rect.adjusted(-r, -r, r, r) & QRect(0, 0, width, height)
        return Selection.from_array(_dilate_disc(self.crop(box), r), box.x(), box.y())

    def shrunk(self, radius: int, width: int, height: int) -> Selection | None:
        """Erode by a disc of `radius` pixels; the document edge counts as unselected."""
        r = int(radius)
        if r <= 0:
            return self
        box = self.rect.adjusted(-1, -1, 1, 1)  # a ring of "unselected" to erode from
        eroded = 255 - _dilate_disc(255 - self.crop(box), r)
        return Selection.from_array(eroded, box.x(), box.y())


# ------------------------------------------------------------------ shapes
def rect_path(rect: QRectF) -> QPainterPath:
    path = QPainterPath()
    path.addRect(rect.normalized())
    return path


def ellipse_path(rect: QRectF) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(rect.normalized())
    return path


def polygon_path(points: list[QPointF]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF(points))
    path.closeSubpath()
    path.setFillRule(Qt.FillRule.WindingFill)
    return path


def check_shape(rect: QRectF, what: str = "The selection") -> None:
    """DocumentError for a rectangle or ellipse with no area (a click without a drag)."""
    r = rect.normalized()
    if r.width() < 1 or r.height() < 1:
        raise DocumentError(f"{what} is empty: drag to make a shape at least one pixel wide.")


# ------------------------------------------------------------------ helpers
def gray_to_array(img: QImage) -> np.ndarray:
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, :w].copy()


def coverage_image(sel: Selection,
                   fmt: QImage.Format = QImage.Format.Format_Grayscale8) -> QImage:
    """The coverage as an 8-bit QImage (Grayscale8, or Alpha8 for transforms)."""
    h, w = sel.cov.shape
    img = QImage(w, h, fmt)
    bpl = img.bytesPerLine()
    view = np.frombuffer(img.bits(), np.uint8, count=h * bpl).reshape(h, bpl)
    view[:, :w] = sel.cov
    return img


def _box_sizes(sigma: float, n: int) -> list[int]:
    """Odd box widths whose n-fold convolution approximates a Gaussian of `sigma`."""
    ideal = math.sqrt(12 * sigma * sigma / n + 1)
    lo = int(ideal)
    lo -= 1 - lo % 2
    lo = max(lo, 1)
    hi = lo + 2
    m = round((12 * sigma * sigma - n * lo * lo - 4 * n * lo - 3 * n) / (-4 * lo - 4))
    return [lo if i < m else hi for i in range(n)]


def _box_blur(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Mean over [i - r, i + r] along `axis`, zeros beyond the edges."""
    if r <= 0:
        return a
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    c = np.zeros(a.shape[:-1] + (n + 2 * r + 1,), np.float32)
    c[..., r + 1 : r + 1 + n] = a
    np.cumsum(c, axis=-1, out=c)
    out = (c[..., 2 * r + 1 :] - c[..., : n]) / (2 * r + 1)
    return np.moveaxis(out, -1, axis)


def _max1d(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Running maximum over [i - r, i + r] along `axis` (van Herk / Gil-Werman, O(1) per
    pixel whatever the radius)."""
    if r <= 0:
        return a
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    k = 2 * r + 1
    total = n + 2 * r
    blocks = -(-total // k)
    p = np.zeros(a.shape[:-1] + (blocks * k,), a.dtype)
    p[..., r : r + n] = a
    g = p.reshape(a.shape[:-1] + (blocks, k))
    fwd = np.maximum.accumulate(g, axis=-1).reshape(p.shape)
    bwd = np.maximum.accumulate(g[..., ::-1], axis=-1)[..., ::-1].reshape(p.shape)
    out = np.maximum(bwd[..., :n], fwd[..., k - 1 : k - 1 + n])
    return np.moveaxis(out, -1, axis)


def _dilate_disc(a: np.ndarray, r: int) -> np.ndarray:
    """Greyscale dilation by a disc of radius r: the maximum of dilations by the rectangles
    inscribed in it (a staircase close to the circle)."""
    steps = max(2, min(12, r))
    sizes = {
        (round(r * math.cos(t)), round(r * math.sin(t)))
        for t in np.linspace(0, math.pi / 2, steps + 1)
    }
    out = np.zeros_like(a)
    for rx, ry in sizes:
        np.maximum(out, _max1d(_max1d(a, rx, 1), ry, 0), out=out)
    return out

