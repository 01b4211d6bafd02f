"""Selection tools on the canvas (rectangle, ellipse, lasso, polygon, magic wand) and the
marching ants that outline the selection.

The tools turn pointer input into shapes and hand them to `Document.selection`; Shift while
pressing adds, Alt subtracts, both intersect (Krita's modifiers). The ants are the edges
between selected (coverage ≥ 50 %) and unselected pixels, found once per selection change in
numpy and drawn as dashed lines whose dash offset moves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QLineF, QObject, QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen

from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.document.selection import ellipse_path, polygon_path, rect_path
from rfedit_desktop.ui.tool_state import Tool, ToolState

Mods = Qt.KeyboardModifier
MAX_EDGES = 30_000
"""Most outline segments kept for a selection (see `selection_edges`)."""


def mode_for(modifiers: Qt.KeyboardModifier) -> str:
    shift, alt = bool(modifiers & Mods.ShiftModifier), bool(modifiers & Mods.AltModifier)
    if shift and alt:
        return "intersect"
    if shift:
        return "add"
    if alt:
        return "subtract"
    return "replace"


def selection_edges(cov: np.ndarray, x0: int, y0: int) -> list[QLineF]:
    """Line segments (document coordinates) between pixels in and out of the selection.

    A ragged selection (a magic wand on a photo) can have millions of edge pieces; past
    MAX_EDGES the outline is traced on a coarser grid (every 2nd, 4th... pixel), which looks the
    same at the zoom that shows such a picture whole, and keeps a selection change fast.
    """
    step = 1
    while True:
        inside = cov[::step, ::step] >= 128
        h, w = inside.shape
        pad = np.zeros((h + 2, w + 2), bool)
        pad[1:-1, 1:-1] = inside
        horiz = _runs(pad[1:, 1:-1] != pad[:-1, 1:-1])  # between rows r-1 and r, along x
        vert = _runs((pad[1:-1, 1:] != pad[1:-1, :-1]).T)  # between columns, along y
        if len(horiz[0]) + len(vert[0]) <= MAX_EDGES or min(h, w) < 64:
            break
        step *= 2
    lines: list[QLineF] = []
    for r, a, b in zip(*(v.tolist() for v in horiz), strict=True):
        lines.append(QLineF(x0 + a * step, y0 + r * step, x0 + b * step, y0 + r * step))
    for c, a, b in zip(*(v.tolist() for v in vert), strict=True):
        lines.append(QLineF(x0 + c * step, y0 + a * step, x0 + c * step, y0 + b * step))
    return lines


def _runs(mask: np.ndarray):
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(np.diff(padded.ravel()))
    starts, ends = edges[0::2], edges[1::2]
    row = starts // (w + 2)
    return row, starts - row * (w + 2), ends - row * (w + 2)


class MarchingAnts(QObject):
    """Canvas overlay: the selection's outline as moving black-and-white dashes."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.document = None
        self.edges: list[QLineF] = []
        self.offset = 0
        self.timer = QTimer(self)
        self.timer.setInterval(180)
        self.timer.timeout.connect(self._step)

    def set_document(self, document) -> None:
        if self.document is not None:
            try:
                self.document.selection.changed.disconnect(self.refresh)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        if document is not None:
            document.selection.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        sel = self.document.selection.value if self.document is not None else None
        self.edges = [] if sel is None else selection_edges(sel.cov, sel.x, sel.y)
        if self.edges:
            self.timer.start()
        else:
            self.timer.stop()
        self.canvas.update()

    def _step(self) -> None:
        self.offset = (self.offset + 1) % 8
        sel = self.document.selection.value if self.document is not None else None
        if sel is not None:  # repaint only around the outline, not the whole canvas
            box = self.canvas.transform.rect_to_view(sel.rect).toAlignedRect()
            self.canvas.update(box.adjusted(-2, -2, 2, 2))

    def paint(self, painter: QPainter, canvas) -> None:
        if not self.edges:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        white = QPen(QColor(255, 255, 255), 1)
        white.setCosmetic(True)
        painter.setPen(white)
        painter.drawLines(self.edges)
        black = QPen(QColor(0, 0, 0), 1)
        black.setCosmetic(True)
        black.setDashPattern([4, 4])
        black.setDashOffset(self.offset)
        painter.setPen(black)
        painter.drawLines(self.edges)


class SelectionTool:
    """One handler for the five selection tools; `canvas.tools.tool` says which shape."""

    def __init__(self, canvas, tools: ToolState, report: Callable[[str], None]) -> None:
        self.canvas, self.tools, self.report = canvas, tools, report
        self.start: QPointF | None = None
        self.current: QPointF | None = None
        self.points: list[QPointF] = []
        self.mode = "replace"

    @property
    def selection(self):
        return self.canvas.document.selection

    # ---------------------------------------------------------------- input
    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        tool = self.tools.tool
        if tool is Tool.POLYGON and self.points:
            if len(self.points) >= 3 and self._near_first(pos):
                self._finish_polygon()
            else:
                self.points.append(QPointF(pos))
            self.canvas.update()
            return
        self.mode = mode_for(modifiers)
        if tool is Tool.MAGIC_WAND:
            area = self.tools.area
            self._guard(lambda: self.selection.magic_wand(
                QPoint(int(pos.x()), int(pos.y())), area.tolerance, merged=area.merged,
                mode=self.mode))
            return
        self.start = self.current = QPointF(pos)
        self.points = [QPointF(pos)]
        self.canvas.update()

    def move(self, pos: QPointF, modifiers: Qt.KeyboardModifier, dragging: bool) -> None:
        tool = self.tools.tool
        if tool is Tool.POLYGON:
            if self.points:
                self.current = QPointF(pos)
                self.canvas.update()
            return
        if not dragging or self.start is None:
            return
        self.current = QPointF(pos)
        if tool is Tool.LASSO:
            last = self.points[-1]
            if abs(last.x() - pos.x()) + abs(last.y() - pos.y()) >= 1.0:
                self.points.append(QPointF(pos))
        self.canvas.update()

    def release(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        tool = self.tools.tool
        if tool in (Tool.POLYGON, Tool.MAGIC_WAND) or self.start is None:
            return
        start, end = self.start, QPointF(pos)
        self.start = self.current = None
        rect = QRectF(start, end).normalized()
        if tool is Tool.LASSO:
            points, self.points = self.points + [end], []
            box = polygon_path(points).boundingRect()
            if len(points) < 3 or box.width() < 1 or box.height() < 1:
                self._click_deselects()
            else:
                self._guard(lambda: self.selection.select_polygon(points, self.mode))
        elif rect.width() < 1 or rect.height() < 1:
            self._click_deselects()
        elif tool is Tool.SELECT_RECT:
            self._guard(lambda: self.selection.select_rect(rect, self.mode))
        else:
            self._guard(lambda: self.selection.select_ellipse(rect, self.mode))
        self.canvas.update()

    def double_click(self, pos: QPointF) -> None:
        if self.tools.tool is Tool.POLYGON and len(self.points) >= 3:
            self._finish_polygon()

    def wants_key(self, event: QKeyEvent) -> bool:
        return bool(self.points) and event.key() in (
            Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)

    def key(self, event: QKeyEvent) -> bool:
        if not self.points:
            return False
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and len(self.points) >= 3:
            self._finish_polygon()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self.start = self.current = None
        self.points = []
        self.canvas.update()

    def leave(self) -> None:
        self.cancel()

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    # ---------------------------------------------------------------- drawing
    def paint(self, painter: QPainter, canvas) -> None:
        tool = self.tools.tool
        path = None
        if tool in (Tool.SELECT_RECT, Tool.SELECT_ELLIPSE) and self.start is not None:
            rect = QRectF(self.start, self.current).normalized()
            path = rect_path(rect) if tool is Tool.SELECT_RECT else ellipse_path(rect)
        elif tool in (Tool.LASSO, Tool.POLYGON) and self.points:
            pts = list(self.points)
            if tool is Tool.POLYGON and self.current is not None:
                pts.append(self.current)
            path = polygon_path(pts) if len(pts) >= 2 else None
        if path is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(255, 255, 255), 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        pen = QPen(QColor(0, 0, 0), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPath(path)

    # ---------------------------------------------------------------- helpers
    def _near_first(self, pos: QPointF) -> bool:
        first = self.canvas.transform.to_view(self.points[0])
        here = self.canvas.transform.to_view(pos)
        return (first - here).manhattanLength() <= 8

    def _finish_polygon(self) -> None:
        points, self.points = list(self.points), []
        self.current = None
        self._guard(lambda: self.selection.select_polygon(points, self.mode, "Polygon selection"))
        self.canvas.update()

    def _click_deselects(self) -> None:
        """A click without a drag drops the selection (as in Krita); nothing else changes."""
        if self.mode == "replace":
            self.selection.deselect()

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except DocumentError as exc:
            self.report(str(exc))
