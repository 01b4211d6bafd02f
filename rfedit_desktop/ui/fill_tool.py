"""The fill tool (F): a click fills the area of similar colour with the foreground colour."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QPainter

from rfedit_desktop.document import fill
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.ui.tool_state import ToolState


class FillTool:
    """Contiguous or global (Tool Options), with the wand's tolerance; inside the selection."""

    def __init__(self, canvas, tools: ToolState, report: Callable[[str], None]) -> None:
        self.canvas, self.tools, self.report = canvas, tools, report

    def press(self, pos: QPointF, modifiers) -> None:
        area = self.tools.area
        try:
            fill.fill_area(self.canvas.document, QPoint(int(pos.x()), int(pos.y())),
                           self.tools.foreground, area.tolerance, contiguous=area.contiguous,
                           merged=area.merged)
        except DocumentError as exc:
            self.report(str(exc))

    def move(self, pos: QPointF, modifiers, dragging: bool) -> None:
        pass

    def release(self, pos: QPointF, modifiers) -> None:
        pass

    def double_click(self, pos: QPointF) -> None:
        pass

    def wants_key(self, event: QKeyEvent) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False

    def cancel(self) -> None:
        pass

    def leave(self) -> None:
        pass

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.PointingHandCursor

    def paint(self, painter: QPainter, canvas) -> None:
        pass
