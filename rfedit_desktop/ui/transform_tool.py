"""Move (T), Transform (Ctrl+T) and Crop (C) on the canvas.

Move and Transform lift the pixels (`document.transform.FloatingPixels`) and draw a scaled
preview under a QTransform while the artist drags; Enter (or the end of a move drag) applies
one undo step, Esc puts everything back. The transform is kept as translation, scale (negative
= flipped) and rotation about the lifted rectangle's centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen, QPolygonF, QTransform

from rfedit_desktop.document import image_ops
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.document.transform import FloatingPixels, move_layer_pixels

HANDLE = 5.0
"""Half the side of a handle, in screen pixels."""
HANDLES = [(-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)]
ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
          Qt.Key.Key_Down: (0, 1)}
ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _pen(color: QColor, dash: bool = False) -> QPen:
    pen = QPen(color, 1, Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine)
    pen.setCosmetic(True)
    return pen


class _Guarded:
    report: Callable[[str], None]

    def _guard(self, action: Callable[[], object]) -> object:
        try:
            return action()
        except DocumentError as exc:
            self.report(str(exc))
            return None


class TransformTool(_Guarded):
    """Scale with the eight handles (Shift keeps the proportions), rotate by dragging outside
    the box (Shift snaps to 15°), move by dragging inside; flip with `flip()`."""

    def __init__(self, canvas, report: Callable[[str], None]) -> None:
        self.canvas, self.report = canvas, report
        self.floating: FloatingPixels | None = None
        self._reset()

    def _reset(self) -> None:
        self.t = QPointF(0, 0)
        self.sx = self.sy = 1.0
        self.angle = 0.0
        self.drag: tuple | None = None

    @property
    def active(self) -> bool:
        return self.floating is not None

    def begin(self) -> bool:
        """Lift the active layer (or its selected pixels); False with a message if impossible."""
        if self.floating is not None:
            return True
        doc = self.canvas.document
        if doc is None:
            return False
        layer = doc.active_layer
        if layer is None:
            self.report("Select a layer to transform.")
            return False
        self.floating = self._guard(lambda: FloatingPixels(doc, layer, doc.selection.value))
        self._reset()
        self.canvas.update()
        return self.floating is not None

    def matrix(self) -> QTransform:
        """Document → document: the current scale, rotation and move about the centre."""
        c = self.floating.rect.center()
        return (QTransform.fromTranslate(-c.x(), -c.y()) * QTransform.fromScale(self.sx, self.sy)
                * QTransform().rotate(self.angle)
                * QTransform.fromTranslate(c.x() + self.t.x(), c.y() + self.t.y()))

    def apply(self) -> None:
        if self.floating is None:
            return
        matrix = self.matrix()
        floating, self.floating = self.floating, None
        self._guard(lambda: floating.apply(matrix, "Transform"))
        if not floating.done:
            floating.cancel()
        self._reset()
        self.canvas.update()

    def cancel(self) -> None:
        if self.floating is not None:
            self.floating.cancel()
            self.floating = None
        self._reset()
        self.canvas.update()

    def leave(self) -> None:
        """Choosing another tool applies the transform, as in Krita."""
        self.apply()

    def flip(self, horizontal: bool) -> None:
        if self.begin():
            if horizontal:
                self.sx = -self.sx
            else:
                self.sy = -self.sy
            self.canvas.update()

    # ---------------------------------------------------------------- geometry
    def _handle_points(self) -> list[QPointF]:
        r, m = self.floating.rect, self.matrix()
        c = r.center()
        return [m.map(QPointF(c.x() + hx * r.width() / 2, c.y() + hy * r.height() / 2))
                for hx, hy in HANDLES]

    def _centre(self) -> QPointF:
        return self.floating.rect.center() + self.t

    def _hit(self, pos: QPointF) -> tuple:
        view = self.canvas.transform
        here = view.to_view(pos)
        for (hx, hy), p in zip(HANDLES, self._handle_points(), strict=True):
            if (view.to_view(p) - here).manhattanLength() <= 2 * HANDLE + 2:
                return ("scale", hx, hy)
        poly = self.matrix().map(QPolygonF(self.floating.rect))
        if poly.containsPoint(pos, Qt.FillRule.OddEvenFill):
            return ("move",)
        return ("rotate",)

    # ---------------------------------------------------------------- input
    def press(self, pos: QPointF, modifiers) -> None:
        if not self.begin():
            return
        self.drag = self._hit(pos) + (QPointF(pos), QPointF(self.t), self.sx, self.sy,
                                      self.angle, self._centre())

    def move(self, pos: QPointF, modifiers, dragging: bool) -> None:
        if self.drag is None or not dragging:
            return
        kind = self.drag[0]
        p0, t0, sx0, sy0, a0, c0 = self.drag[-6:]
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if kind == "move":
            self.t = t0 + (pos - p0)
        elif kind == "rotate":
            a = math.degrees(math.atan2(pos.y() - c0.y(), pos.x() - c0.x())
                             - math.atan2(p0.y() - c0.y(), p0.x() - c0.x()))
            angle = a0 + a
            self.angle = round(angle / 15) * 15 if shift else angle
        else:
            self._scale(self.drag[1], self.drag[2], pos, sx0, sy0, c0, shift)
        self.canvas.update()

    def _scale(self, hx: int, hy: int, pos: QPointF, sx0: float, sy0: float, c0: QPointF,
               keep_ratio: bool) -> None:
        r = self.floating.rect
        w, h = r.width(), r.height()
        back = QTransform().rotate(-self.angle)
        q = back.map(pos - c0)  # pointer in the box's own (unrotated) frame
        ax, ay = -hx * sx0 * w / 2, -hy * sy0 * h / 2  # the opposite side stays put
        sx = (q.x() - ax) / (hx * w) if hx else sx0
        sy = (q.y() - ay) / (hy * h) if hy else sy0
        if keep_ratio and hx and hy:
            k = max(abs(sx / sx0), abs(sy / sy0))
            sx, sy = math.copysign(k * abs(sx0), sx), math.copysign(k * abs(sy0), sy)
        sx = math.copysign(max(abs(sx), 1.0 / w), sx or 1.0)
        sy = math.copysign(max(abs(sy), 1.0 / h), sy or 1.0)
        cx = ax + hx * sx * w / 2 if hx else 0.0
        cy = ay + hy * sy * h / 2 if hy else 0.0
        centre = c0 + QTransform().rotate(self.angle).map(QPointF(cx, cy))
        self.sx, self.sy = sx, sy
        self.t = centre - r.center()

    def release(self, pos: QPointF, modifiers) -> None:
        self.drag = None

    def double_click(self, pos: QPointF) -> None:
        pass

    def wants_key(self, event: QKeyEvent) -> bool:
        return self.active and (event.key() in ENTER or event.key() == Qt.Key.Key_Escape)

    def key(self, event: QKeyEvent) -> bool:
        if not self.active:
            return False
        if event.key() in ENTER:
            self.apply()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def paint(self, painter: QPainter, canvas) -> None:
        if self.floating is None:
            return
        m = self.matrix()
        self.floating.draw_preview(painter, m)
        box = m.map(QPolygonF(self.floating.rect))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_pen(QColor(255, 255, 255)))
        painter.drawPolygon(box)
        painter.setPen(_pen(QColor(0, 0, 0), dash=True))
        painter.drawPolygon(box)
        view = canvas.view_transform()
        painter.save()
        painter.resetTransform()
        painter.setPen(_pen(QColor(20, 20, 20)))
        painter.setBrush(QColor(255, 255, 255))
        for p in self._handle_points():
            v = view.map(p)
            painter.drawRect(QRectF(v.x() - HANDLE, v.y() - HANDLE, 2 * HANDLE, 2 * HANDLE))
        c = view.map(m.map(self.floating.rect.center()))
        painter.drawEllipse(c, HANDLE - 1, HANDLE - 1)
        painter.restore()


class MoveTool(_Guarded):
    """Drag the active layer (or the selected pixels); arrow keys nudge 1 px, Shift 10 px."""

    def __init__(self, canvas, report: Callable[[str], None]) -> None:
        self.canvas, self.report = canvas, report
        self.floating: FloatingPixels | None = None
        self.start = QPointF()
        self.delta = QPointF()

    def press(self, pos: QPointF, modifiers) -> None:
        doc = self.canvas.document
        layer = doc.active_layer
        if layer is None:
            self.report("Select a layer to move.")
            return
        self.floating = self._guard(lambda: FloatingPixels(doc, layer, doc.selection.value))
        self.start, self.delta = QPointF(pos), QPointF()

    def move(self, pos: QPointF, modifiers, dragging: bool) -> None:
        if self.floating is not None and dragging:
            self.delta = QPointF(round(pos.x() - self.start.x()), round(pos.y() - self.start.y()))
            self.canvas.update()

    def release(self, pos: QPointF, modifiers) -> None:
        floating, self.floating = self.floating, None
        if floating is None:
            return
        dx, dy = int(self.delta.x()), int(self.delta.y())
        doc = self.canvas.document
        if (dx, dy) == (0, 0):
            floating.cancel()
        elif floating.selection is None:
            floating.cancel()
            layer = floating.layer
            doc.end_property_merge()
            self._guard(lambda: doc.set_layer_offset(layer, layer.x + dx, layer.y + dy))
            doc.end_property_merge()
        else:
            self._guard(lambda: floating.apply(QTransform.fromTranslate(dx, dy), "Move selection"))
            if not floating.done:
                floating.cancel()
        self.canvas.update()

    def double_click(self, pos: QPointF) -> None:
        pass

    def wants_key(self, event: QKeyEvent) -> bool:
        return event.key() in ARROWS

    def key(self, event: QKeyEvent) -> bool:
        if event.key() not in ARROWS or self.floating is not None:
            return False
        doc = self.canvas.document
        layer = doc.active_layer
        if layer is None:
            self.report("Select a layer to move.")
            return True
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        dx, dy = ARROWS[Qt.Key(event.key())]
        self._guard(lambda: move_layer_pixels(doc, layer, dx * step, dy * step))
        return True

    def cancel(self) -> None:
        if self.floating is not None:
            self.floating.cancel()
            self.floating = None
            self.canvas.update()

    def leave(self) -> None:
        self.cancel()

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.SizeAllCursor

    def paint(self, painter: QPainter, canvas) -> None:
        if self.floating is not None:
            self.floating.draw_preview(painter, QTransform.fromTranslate(self.delta.x(),
                                                                         self.delta.y()))


class CropTool(_Guarded):
    """Drag the rectangle to keep, adjust it by its handles or drag it by its inside; Enter or
    a double-click crops, Esc forgets it."""

    def __init__(self, canvas, report: Callable[[str], None]) -> None:
        self.canvas, self.report = canvas, report
        self.start: QPointF | None = None
        self.rect: QRect | None = None
        self.drag: tuple | None = None  # ("new",) / ("edge", hx, hy) / ("move",), rect at press

    def _doc_rect(self, a: QPointF, b: QPointF) -> QRect:
        r = QRectF(a, b).normalized()
        x0, y0 = math.floor(r.left()), math.floor(r.top())
        x1, y1 = math.ceil(r.right()), math.ceil(r.bottom())
        return QRect(x0, y0, x1 - x0, y1 - y0) & self.canvas.document.rect()

    def _handle_points(self, rect: QRect) -> list[QPointF]:
        r = QRectF(rect)
        c = r.center()
        return [QPointF(c.x() + hx * r.width() / 2, c.y() + hy * r.height() / 2)
                for hx, hy in HANDLES]

    def press(self, pos: QPointF, modifiers) -> None:
        self.start = QPointF(pos)
        if self.rect is not None:
            view = self.canvas.transform
            here = view.to_view(pos)
            for (hx, hy), p in zip(HANDLES, self._handle_points(self.rect), strict=True):
                if (view.to_view(p) - here).manhattanLength() <= 2 * HANDLE + 2:
                    self.drag = ("edge", hx, hy, QRect(self.rect))
                    return
            if QRectF(self.rect).contains(pos):
                self.drag = ("move", QRect(self.rect))
                return
        self.drag = ("new",)
        self.rect = None

    def move(self, pos: QPointF, modifiers, dragging: bool) -> None:
        if self.start is None or self.drag is None or not dragging:
            return
        kind = self.drag[0]
        if kind == "new":
            self.rect = self._doc_rect(self.start, pos)
        elif kind == "edge":
            _, hx, hy, r0 = self.drag
            r = QRectF(r0)
            left = pos.x() if hx < 0 else r.left()
            right = pos.x() if hx > 0 else r.right()
            top = pos.y() if hy < 0 else r.top()
            bottom = pos.y() if hy > 0 else r.bottom()
            rect = self._doc_rect(QPointF(left, top), QPointF(right, bottom))
            self.rect = rect if not rect.isEmpty() else self.rect
        else:
            r0 = self.drag[1]
            doc = self.canvas.document.rect()
            dx = round(pos.x() - self.start.x())
            dy = round(pos.y() - self.start.y())
            dx = max(doc.left() - r0.left(), min(dx, doc.right() - r0.right()))
            dy = max(doc.top() - r0.top(), min(dy, doc.bottom() - r0.bottom()))
            self.rect = r0.translated(dx, dy)
        self.canvas.update()

    def release(self, pos: QPointF, modifiers) -> None:
        if self.start is not None and self.drag == ("new",):
            rect = self._doc_rect(self.start, pos)
            self.rect = None if rect.isEmpty() else rect
        self.start = None
        self.drag = None
        self.canvas.update()

    def double_click(self, pos: QPointF) -> None:
        self.apply()

    def apply(self) -> None:
        rect, self.rect = self.rect, None
        if rect is None:
            self.report("Drag the rectangle to keep first.")
            return
        self._guard(lambda: image_ops.crop(self.canvas.document, rect))
        self.canvas.update()

    def wants_key(self, event: QKeyEvent) -> bool:
        return self.rect is not None and (event.key() in ENTER
                                          or event.key() == Qt.Key.Key_Escape)

    def key(self, event: QKeyEvent) -> bool:
        if self.rect is None:
            return False
        if event.key() in ENTER:
            self.apply()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self.start = None
        self.rect = None
        self.drag = None
        self.canvas.update()

    def leave(self) -> None:
        self.cancel()

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def paint(self, painter: QPainter, canvas) -> None:
        if self.rect is None:
            return
        outside = QRectF(canvas.document.rect())
        painter.save()
        shade = QColor(0, 0, 0, 130)
        r = QRectF(self.rect)
        for part in (QRectF(outside.left(), outside.top(), outside.width(), r.top()),
                     QRectF(outside.left(), r.bottom(), outside.width(),
                            outside.bottom() - r.bottom()),
                     QRectF(outside.left(), r.top(), r.left(), r.height()),
                     QRectF(r.right(), r.top(), outside.right() - r.right(), r.height())):
            if part.width() > 0 and part.height() > 0:
                painter.fillRect(part, shade)
        painter.setPen(_pen(QColor(255, 255, 255)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(r)
        view = canvas.view_transform()
        painter.resetTransform()
        painter.setPen(_pen(QColor(20, 20, 20)))
        painter.setBrush(QColor(255, 255, 255))
        for p in self._handle_points(self.rect):
            v = view.map(p)
            painter.drawRect(QRectF(v.x() - HANDLE, v.y() - HANDLE, 2 * HANDLE, 2 * HANDLE))
        painter.restore()
