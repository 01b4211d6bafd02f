"""The edit area's frame on the canvas: what the model will see, with handles to change it.

Like InvokeAI's bounding box: a dashed frame with eight handles over the picture. Dragging a
handle resizes the area, dragging the frame's border moves it; everywhere else the pointer
paints as usual. A transparent child of the canvas that watches the canvas's pointer events
(an event filter), so it takes only the presses that land on the frame.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

HANDLE = 7  # handle size, screen pixels
GRAB = 6  # how close to a handle or the border a press must land, screen pixels
MIN_SIDE = 16  # smallest edit area, image pixels

# Which sides of the rectangle a handle moves: (left, top, right, bottom).
_HANDLES = {
    "tl": (1, 1, 0, 0), "t": (0, 1, 0, 0), "tr": (0, 1, 1, 0), "r": (0, 0, 1, 0),
    "br": (0, 0, 1, 1), "b": (0, 0, 0, 1), "bl": (1, 0, 0, 1), "l": (1, 0, 0, 0),
}
_CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor,
    "move": Qt.CursorShape.SizeAllCursor,
}
_PRESS = (QEvent.Type.MouseButtonPress, QEvent.Type.TabletPress)
_MOVE = (QEvent.Type.MouseMove, QEvent.Type.TabletMove)
_RELEASE = (QEvent.Type.MouseButtonRelease, QEvent.Type.TabletRelease)


class EditAreaFrame(QWidget):
    """Draws the edit area over the canvas; `area_drawn` when the artist moved or resized it."""

    area_drawn = Signal(QRect)  # document pixels

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._rect: QRect | None = None  # document pixels
        self._label = ""
        self._warning = False
        self._drag: tuple[str, QPointF, QRect] | None = None
        self._hover = ""
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def area(self) -> QRect | None:
        return QRect(self._rect) if self._rect is not None else None

    def set_area(self, rect: QRect | None, label: str = "", warning: bool = False) -> None:
        """Show `rect` (document pixels) with the working-resolution `label` above it."""
        if self._drag is not None:
            return  # the artist is dragging: their frame wins until release
        self._rect = QRect(rect) if rect is not None else None
        self._label, self._warning = label, warning
        self.update()

    def dragging(self) -> bool:
        return self._drag is not None

    # geometry -----------------------------------------------------------------------------
    def _view_rect(self) -> QRectF | None:
        transform = getattr(self._canvas, "transform", None)
        if self._rect is None or transform is None:
            return None
        return transform.rect_to_view(self._rect)

    def _covers_image(self) -> bool:
        size = self._canvas.doc_size()
        return self._rect is not None and self._rect == QRect(0, 0, size.width(), size.height())

    def _handle_points(self, r: QRectF) -> dict[str, QPointF]:
        cx, cy = r.center().x(), r.center().y()
        return {"tl": r.topLeft(), "t": QPointF(cx, r.top()), "tr": r.topRight(),
                "r": QPointF(r.right(), cy), "br": r.bottomRight(),
                "b": QPointF(cx, r.bottom()), "bl": r.bottomLeft(), "l": QPointF(r.left(), cy)}

    def hit(self, pos: QPointF) -> str:
        """Which part of the frame is under `pos` (widget coordinates): a handle, "move" on
        the border, or "" elsewhere."""
        r = self._view_rect()
        if r is None or not self.isVisible():
            return ""
        for name, p in self._handle_points(r).items():
            if abs(pos.x() - p.x()) <= GRAB and abs(pos.y() - p.y()) <= GRAB:
                return name
        if self._covers_image():
            return ""  # the whole picture cannot move: strokes at its edges paint
        near_x = r.left() - GRAB <= pos.x() <= r.right() + GRAB
        near_y = r.top() - GRAB <= pos.y() <= r.bottom() + GRAB
        on_vertical = near_y and min(abs(pos.x() - r.left()), abs(pos.x() - r.right())) <= GRAB
        on_horizontal = near_x and min(abs(pos.y() - r.top()),
                                       abs(pos.y() - r.bottom())) <= GRAB
        return "move" if on_vertical or on_horizontal else ""

    def _dragged(self, pos: QPointF) -> QRect:
        kind, start, rect = self._drag
        d = self._canvas.transform.to_doc(pos) - self._canvas.transform.to_doc(start)
        dx, dy = round(d.x()), round(d.y())
        size = self._canvas.doc_size()
        if kind == "move":
            x = min(max(0, rect.x() + dx), size.width() - rect.width())
            y = min(max(0, rect.y() + dy), size.height() - rect.height())
            return QRect(x, y, rect.width(), rect.height())
        left, top, right, bottom = rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1
        ml, mt, mr, mb = _HANDLES[kind]
        if ml:
            left = min(max(0, left + dx), right - MIN_SIDE)
        if mt:
            top = min(max(0, top + dy), bottom - MIN_SIDE)
        if mr:
            right = max(min(size.width(), right + dx), left + MIN_SIDE)
        if mb:
            bottom = max(min(size.height(), bottom + dy), top + MIN_SIDE)
        return QRect(left, top, right - left, bottom - top)

    # events ---------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is not self._canvas:
            return False
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.setGeometry(self._canvas.rect())
            return False
        if kind not in _PRESS + _MOVE + _RELEASE or not self.isVisible():
            return False
        pos = event.position()
        if kind in _PRESS:
            part = self.hit(pos) if event.button() == Qt.MouseButton.LeftButton else ""
            busy = getattr(self._canvas, "stroking", False) or getattr(self._canvas,
                                                                        "panning", False)
            if not part or busy:
                return False
            self._drag = (part, QPointF(pos), QRect(self._rect))
            event.accept()
            return True
        if self._drag is not None:
            self._rect = self._dragged(pos)
            self.update()
            if kind in _RELEASE:
                self._drag = None
                self.area_drawn.emit(QRect(self._rect))
            event.accept()
            return True
        if kind in _MOVE:
            self._set_hover(self.hit(pos))
        return False

    def _set_hover(self, part: str) -> None:
        if part == self._hover:
            return
        self._hover = part
        if part:
            self._canvas.setCursor(_CURSORS[part])
        else:
            refresh = getattr(self._canvas, "_refresh_cursor", None)
            if refresh is not None:
                refresh()

    # painting ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        r = self._view_rect()
        if r is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        frame = r.adjusted(-0.5, -0.5, 0.5, 0.5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
        painter.drawRect(frame)
        dash = QPen(QColor(255, 196, 64) if self._warning else QColor(90, 200, 255), 1.5)
        dash.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(dash)
        painter.drawRect(frame)
        painter.setPen(QPen(QColor(0, 0, 0, 220), 1))
        painter.setBrush(QColor(245, 245, 245))
        half = HANDLE / 2
        for p in self._handle_points(frame).values():
            painter.drawRect(QRectF(p.x() - half, p.y() - half, HANDLE, HANDLE))
        if self._label:
            metrics = painter.fontMetrics()
            w, h = metrics.horizontalAdvance(self._label) + 12, metrics.height() + 6
            top = frame.top() - h - 4 if frame.top() - h - 4 >= 0 else frame.top() + 4
            left = min(max(0.0, frame.left()), max(0.0, self.width() - w))
            box = QRectF(left, top, w, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(20, 20, 20, 200))
            painter.drawRect(box)
            painter.setPen(QColor(255, 196, 64) if self._warning else QColor(235, 235, 235))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._label)
        painter.end()


def doc_rect(box: list[int] | tuple[int, int, int, int]) -> QRect:
    """[x, y, w, h] → QRect."""
    x, y, w, h = (int(v) for v in box)
    return QRect(QPoint(x, y), QPoint(x + w - 1, y + h - 1)) if w and h else QRect()

