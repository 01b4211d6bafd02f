"""The canvas: shows the document's composite and turns mouse and pen input into strokes.

Painting redoes only what changed: the document says which rectangle changed
(`region_changed`), the view copies that part of the composite into its display image and asks
Qt to repaint just the matching widget rectangle. Zoom, pan and the brush outline are view
state only; they never touch the document.

Tools that do not paint (selections, move, transform, crop, fill) are handlers registered
with `register_tool`: the canvas forwards them the left button in document coordinates and
the keys they claim, and lets them draw over the picture (`add_overlay` for what is drawn
whatever the tool, such as the marching ants). A handler has `press(pos, modifiers)`,
`move(pos, modifiers, dragging)`, `release(pos, modifiers)`, `double_click(pos)`,
`key(event) -> bool`, `wants_key(event) -> bool`, `paint(painter, canvas)`, `cancel()`,
`leave()` (another tool was chosen: finish or drop what is in progress) and `cursor()`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPointingDevice,
    QRegion,
    QResizeEvent,
    QTabletEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from rfedit_desktop.ui import strokes, theme
from rfedit_desktop.ui.checkerboard import checker_brush
from rfedit_desktop.ui.tool_state import Tool, ToolState
from rfedit_desktop.ui.view_transform import ViewTransform, next_zoom

MASK_OPACITY = 0.45
# Below this zoom the picture is scaled down smoothly; from 100 % up pixels stay crisp squares.
SMOOTH_BELOW = 1.0


class CanvasView(QWidget):
    """Zoomable, pannable view of one document that paints with the current tool."""

    zoom_changed = Signal(float)  # zoom in document pixels per physical pixel (1.0 = 100 %)
    cursor_moved = Signal(object)  # QPoint in document pixels, or None when outside
    colour_picked = Signal(QColor)
    stroke_failed = Signal(str)  # a stroke the document refused (e.g. no layer to paint on)
    stroke_active = Signal(bool)  # a stroke began (True) or ended (False)

    def __init__(self, tools: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.document = None
        self.transform = ViewTransform(self.devicePixelRatioF())
        self._display: QImage | None = None  # copy of the composite, doc-sized
        self._mask_overlay: QImage | None = None  # tinted mask, doc-sized
        self._dirty = QRegion()
        self._stroke = None
        self._stroke_tool: Tool | None = None
        self._panning = False
        self._space_down = False
        self._pan_last = QPointF()
        self._cursor_pos: QPointF | None = None  # logical widget position of the pointer
        self._fitted_once = False
        self._tint_paused = False
        self._applied_edits = 0
        self._handlers: dict[Tool, object] = {}
        self._overlays: list[object] = []
        self._handler_drag = False
        self.setMouseTracking(True)
        self.setTabletTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAutoFillBackground(False)
        self.setMinimumSize(QSize(200, 150))
        tools.brush_changed.connect(self._refresh_cursor)
        tools.tool_changed.connect(self._tool_changed)

    # ------------------------------------------------------------------ tool handlers
    def register_tool(self, tool: Tool, handler: object) -> None:
        """Let `handler` take the left button and its keys while `tool` is current."""
        self._handlers[tool] = handler

    def add_overlay(self, overlay: object) -> None:
        """Something drawn over the picture whatever the tool (`overlay.paint(painter, self)`)."""
        self._overlays.append(overlay)

    @property
    def handler(self):
        """The current tool's handler, or None for the painting tools."""
        return self._handlers.get(self.tools.tool)

    def view_transform(self) -> QTransform:
        """Maps document coordinates to widget (logical) coordinates."""
        s = self.transform.scale
        o = self.transform.origin
        return QTransform(s, 0, 0, s, o.x(), o.y())

    # ------------------------------------------------------------------ document binding
    def set_document(self, document) -> None:
        """Show `document` (or nothing with None); the zoom is fitted on the next show."""
        if self.document is not None:
            for signal, slot in ((self.document.region_changed, self._on_region_changed),
                                 (self.document.edit_history_changed, self._on_edits_changed)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self._end_stroke()
        for handler in self._handlers.values():
            handler.cancel()
        self.document = document
        self._display = None
        self._mask_overlay = None
        self._dirty = QRegion()
        self._fitted_once = self.isVisible()
        self._tint_paused = False
        self._applied_edits = len(document.edit_history) if document is not None else 0
        if document is not None:
            document.region_changed.connect(self._on_region_changed)
            document.edit_history_changed.connect(self._on_edits_changed)
            self._invalidate_all()
            self.fit_to_window()
        self.update()

    def doc_size(self) -> QSize:
        if self.document is None:
            return QSize(0, 0)
        return QSize(self.document.width, self.document.height)

    def _invalidate_all(self) -> None:
        size = self.doc_size()
        if self._display is None or self._display.size() != size:
            self._display = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
            self._display.fill(0)
            self._mask_overlay = None
        self._dirty = QRegion(QRect(QPoint(0, 0), size))
        self.update()

    def _on_region_changed(self, rect: QRect) -> None:
        size = self.doc_size()
        if self._display is None or self._display.size() != size:
            self._invalidate_all()
            return
        rect = QRect(rect).intersected(QRect(QPoint(0, 0), size))
        if rect.isEmpty():
            return
        self._dirty += rect
        view_rect = self.transform.rect_to_view(rect).toAlignedRect().adjusted(-2, -2, 2, 2)
        self.update(view_rect)

    def _flush_dirty(self) -> None:
        """Copy changed parts of the composite (and mask) into the display images."""
        if self.document is None or self._display is None or self._dirty.isEmpty():
            return
        mask = self._mask_image()
        if mask is not None and (self._mask_overlay is None
                                 or self._mask_overlay.size() != self._display.size()):
            self._mask_overlay = QImage(self._display.size(),
                                        QImage.Format.Format_ARGB32_Premultiplied)
            self._mask_overlay.fill(0)
            self._dirty = QRegion(QRect(QPoint(0, 0), self._display.size()))
        if mask is None:
            self._mask_overlay = None
        painter = QPainter(self._display)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        for rect in self._dirty:
            painter.drawImage(rect.topLeft(), self.document.composite(rect))
        painter.end()
        if mask is not None and self._mask_overlay is not None:
            self._paint_mask_overlay(mask)
        self._dirty = QRegion()

    def _mask_image(self) -> QImage | None:
        """The mask layer's pixels at document size when a visible mask exists, else None."""
        mask = self.document.mask_layer if self.document is not None else None
        if mask is None or not mask.visible:
            return None
        if mask.bounds() == QRect(QPoint(0, 0), self.doc_size()):
            return mask.image
        canvas = QImage(self.doc_size(), QImage.Format.Format_ARGB32_Premultiplied)
        canvas.fill(0)
        p = QPainter(canvas)
        p.drawImage(QPoint(mask.x, mask.y), mask.image)
        p.end()
        return canvas

    def mask_tint_shown(self) -> bool:
        """Whether the mask's tint is drawn over the picture.

        The tint is hidden from the moment an AI edit is applied until the artist paints the
        mask or picks the mask brush again: the mask has done its job, and an artist now judges
        the result's colours, which a red veil would falsify (a blue result looks purple).
        Undoing the edit shows the tint again, ready for another run on the same region.
        """
        return self._mask_overlay is not None and not self._tint_paused

    def show_mask_tint(self) -> None:
        """Show the tint again (the artist picked the mask brush, even if it was the tool)."""
        if self._tint_paused:
            self._tint_paused = False
            self.update()

    def _on_edits_changed(self) -> None:
        count = len(self.document.edit_history) if self.document is not None else 0
        if count != self._applied_edits:
            self._tint_paused = count > self._applied_edits
            self._applied_edits = count
            self.update()

    def _paint_mask_overlay(self, mask: QImage) -> None:
        """The mask's coverage (its alpha) as a flat tint; opacity is applied when drawn."""
        assert self._mask_overlay is not None
        painter = QPainter(self._mask_overlay)
        for rect in self._dirty:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(rect.topLeft(), mask, rect)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(rect, theme.MASK_TINT)
        painter.end()

    # ------------------------------------------------------------------ zoom and pan
    @property
    def zoom(self) -> float:
        return self.transform.zoom

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping `anchor` (widget coordinates; default the centre) fixed on screen."""
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        self.transform.zoom_at(anchor, zoom)
        self._after_view_change()

    def zoom_in(self) -> None:
        self.set_zoom(next_zoom(self.zoom, 1))

    def zoom_out(self) -> None:
        self.set_zoom(next_zoom(self.zoom, -1))

    def actual_pixels(self) -> None:
        """100 %: one document pixel per physical screen pixel, centred on the picture."""
        self.transform.zoom = 1.0
        self.transform.center(self.doc_size(), self.size())
        self._after_view_change()

    def fit_to_window(self) -> None:
        self.transform.dpr = self.devicePixelRatioF()
        self.transform.fit(self.doc_size(), self.size())
        self._after_view_change()

    def _after_view_change(self) -> None:
        self.zoom_changed.emit(self.transform.zoom)
        self.update()

    def doc_pos(self, view_pos: QPointF) -> QPointF:
        return self.transform.to_doc(QPointF(view_pos))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        self._flush_dirty()
        painter = QPainter(self)
        exposed = event.rect()
        painter.fillRect(exposed, theme.CANVAS_BACKGROUND)
        if self._display is not None and not self._display.isNull():
            doc_rect_view = self.transform.rect_to_view(QRect(QPoint(0, 0), self.doc_size()))
            visible = doc_rect_view.intersected(QRectF(exposed))
            if not visible.isEmpty():
                painter.fillRect(visible, checker_brush())
                self._draw_image(painter, self._display, visible)
                if self.mask_tint_shown():
                    painter.setOpacity(MASK_OPACITY)
                    self._draw_image(painter, self._mask_overlay, visible)
                    painter.setOpacity(1.0)
            painter.setPen(QPen(QColor(20, 20, 20), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(doc_rect_view.adjusted(-0.5, -0.5, 0.5, 0.5))
        if self.document is not None:
            painter.save()
            painter.setTransform(self.view_transform())
            if self.handler is not None:
                self.handler.paint(painter, self)
            for overlay in self._overlays:  # the ants stay visible over a transform preview
                overlay.paint(painter, self)
            painter.restore()
        self._draw_brush_outline(painter)
        painter.end()

    def _draw_image(self, painter: QPainter, image: QImage, view_rect: QRectF) -> None:
        """Draw the part of `image` under `view_rect` (widget coords), snapped to whole pixels."""
        src = self.transform.rect_to_doc(view_rect)
        src = QRectF(math.floor(src.left()), math.floor(src.top()), 0, 0).united(
            QRectF(QPointF(math.floor(src.left()), math.floor(src.top())),
                   QPointF(math.ceil(src.right()), math.ceil(src.bottom()))))
        src = src.intersected(QRectF(image.rect()))
        if src.isEmpty():
            return
        target = self.transform.rect_to_view(src)
        smooth = self.transform.zoom < SMOOTH_BELOW
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, image, src)

    def _brush_radius_view(self) -> float:
        return self.tools.brush.size * self.transform.scale / 2

    def _shows_outline(self) -> bool:
        return (self._cursor_pos is not None and self.tools.tool.paints
                and not self._panning and not self._space_down and self.document is not None)

    def _outline_rect(self, pos: QPointF | None) -> QRect:
        if pos is None:
            return QRect()
        r = self._brush_radius_view() + 3
        return QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect()

    def _draw_brush_outline(self, painter: QPainter) -> None:
        if not self._shows_outline():
            return
        assert self._cursor_pos is not None
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = max(1.5, self._brush_radius_view())
        # two rings so the outline reads on light and dark paint alike
        painter.setPen(QPen(QColor(0, 0, 0, 200), 1.0))
        painter.drawEllipse(self._cursor_pos, r + 0.5, r + 0.5)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1.0))
        painter.drawEllipse(self._cursor_pos, r - 0.5, r - 0.5)
        if r < 4:  # a tiny brush: add a cross so the pointer can still be found
            c = self._cursor_pos
            painter.drawLine(QPointF(c.x() - 6, c.y()), QPointF(c.x() - 3, c.y()))
            painter.drawLine(QPointF(c.x() + 3, c.y()), QPointF(c.x() + 6, c.y()))
            painter.drawLine(QPointF(c.x(), c.y() - 6), QPointF(c.x(), c.y() - 3))
            painter.drawLine(QPointF(c.x(), c.y() + 3), QPointF(c.x(), c.y() + 6))

    def _move_outline(self, pos: QPointF | None) -> None:
        old = self._outline_rect(self._cursor_pos)
        self._cursor_pos = QPointF(pos) if pos is not None else None
        region = QRegion(old) + QRegion(self._outline_rect(self._cursor_pos))
        self.update(region)
        if pos is None:
            self.cursor_moved.emit(None)
        else:
            d = self.doc_pos(pos)
            inside = 0 <= d.x() < self.doc_size().width() and 0 <= d.y() < self.doc_size().height()
            self.cursor_moved.emit(QPoint(math.floor(d.x()), math.floor(d.y())) if inside else None)

    def _refresh_cursor(self, *_args) -> None:
        if self._panning:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space_down:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif self.handler is not None:
            self.setCursor(self.handler.cursor())
        elif self.tools.tool is Tool.PICKER:
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.setCursor(QCursor(Qt.CursorShape.BlankCursor))
        self.update()

    def _tool_changed(self, tool: Tool) -> None:
        if tool is Tool.MASK:
            self.show_mask_tint()
        for other, handler in self._handlers.items():
            if other is not tool:
                handler.leave()
        self._refresh_cursor()

    # ------------------------------------------------------------------ input: strokes
    def _begin_stroke(self, view_pos: QPointF, pressure: float, eraser_end: bool) -> None:
        if self.document is None:
            return
        tool = self.tools.tool
        if eraser_end and tool is not Tool.MASK:
            tool = Tool.ERASER  # the pen's eraser end erases paint (or the mask, with M)
        pos = self.doc_pos(view_pos)
        if tool is Tool.PICKER:
            self._pick(pos)
            return
        try:
            self._stroke = strokes.begin(self.document, self.tools, tool, pos, pressure,
                                         eraser_end=eraser_end)
        except Exception as exc:  # the document refuses (no layer, locked...): tell, don't crash
            self._stroke = None
            self.stroke_failed.emit(str(exc))
            return
        self._stroke_tool = tool
        if tool is Tool.MASK:
            self._tint_paused = False
        self.stroke_active.emit(True)

    def _continue_stroke(self, view_pos: QPointF, pressure: float) -> None:
        if self._stroke is not None:
            self._stroke.move(self.doc_pos(view_pos), pressure)

    def _end_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        self._stroke_tool = None
        if stroke is not None:
            stroke.end()
            self.stroke_active.emit(False)

    def finish_stroke(self) -> None:
        """End a stroke in progress now (one history entry), e.g. before undo moves history;
        a tool's unfinished work (lifted pixels, a polygon) is put back first."""
        self._end_stroke()
        for handler in self._handlers.values():
            handler.cancel()

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    @property
    def panning(self) -> bool:
        """Space is held or a pan is under way: a press pans, whatever is under it."""
        return self._space_down or self._panning

    def _pick(self, pos: QPointF) -> None:
        if self._display is None:
            return
        self._flush_dirty()
        x, y = math.floor(pos.x()), math.floor(pos.y())
        if not self._display.rect().contains(x, y):
            return
        colour = self._display.pixelColor(x, y)
        if colour.alpha() == 0:
            return
        colour.setAlpha(255)
        self.tools.set_foreground(colour)
        self.colour_picked.emit(colour)

    # ------------------------------------------------------------------ input: events
    def _start_pan(self, pos: QPointF) -> None:
        self._panning = True
        self._pan_last = QPointF(pos)
        self._refresh_cursor()

    def _pan_to(self, pos: QPointF) -> None:
        delta = pos - self._pan_last
        self._pan_last = QPointF(pos)
        self.transform.pan(delta.x(), delta.y())
        self.update()

    def _stop_pan(self) -> None:
        self._panning = False
        self._refresh_cursor()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_down):
            self._start_pan(pos)
        elif (button == Qt.MouseButton.LeftButton and self.handler is not None
              and self.document is not None):
            self._handler_drag = True
            self.handler.press(self.doc_pos(pos), event.modifiers())
        elif button == Qt.MouseButton.LeftButton and self._stroke is None:
            if event.modifiers() & Qt.KeyboardModifier.AltModifier and self.tools.tool.paints:
                self._pick(self.doc_pos(pos))  # Alt+click: pick without leaving the brush
            else:
                self._begin_stroke(pos, 1.0, eraser_end=False)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._panning:
            self._pan_to(pos)
        elif self._stroke is not None:
            self._continue_stroke(pos, 1.0)
        elif self.handler is not None and self.document is not None:
            self.handler.move(self.doc_pos(pos), event.modifiers(), self._handler_drag)
        elif self.tools.tool is Tool.PICKER and event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(self.doc_pos(pos))
        self._move_outline(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._panning and event.button() in (Qt.MouseButton.MiddleButton,
                                                Qt.MouseButton.LeftButton):
            self._stop_pan()
        elif event.button() == Qt.MouseButton.LeftButton and self._handler_drag:
            self._handler_drag = False
            if self.handler is not None:
                self.handler.release(self.doc_pos(event.position()), event.modifiers())
        elif event.button() == Qt.MouseButton.LeftButton:
            self._end_stroke()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.handler is not None:
            self.handler.double_click(self.doc_pos(event.position()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def event(self, event: QEvent) -> bool:
        # keys a tool claims (Enter, Esc, arrows while transforming) beat window shortcuts
        if (event.type() == QEvent.Type.ShortcutOverride and self.handler is not None
                and self.document is not None and self.handler.wants_key(event)):
            event.accept()
            return True
        return super().event(event)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802
        """Pen input: pressure drives size/opacity; the pen's eraser end erases."""
        pos = event.position()
        pressure = max(0.0, min(1.0, event.pressure()))
        eraser_end = event.pointerType() == QPointingDevice.PointerType.Eraser
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            if self._space_down or event.button() == Qt.MouseButton.MiddleButton:
                self._start_pan(pos)
            elif event.button() == Qt.MouseButton.LeftButton and self._stroke is None:
                self._begin_stroke(pos, pressure, eraser_end)
        elif kind == QEvent.Type.TabletMove:
            if self._panning:
                self._pan_to(pos)
            elif self._stroke is not None:
                self._continue_stroke(pos, pressure)
            self._move_outline(pos)
        elif kind == QEvent.Type.TabletRelease:
            if self._panning:
                self._stop_pan()
            else:
                self._end_stroke()
        event.accept()  # no synthesized mouse events on top of the pen

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.transform.pan(delta.y() / 2, 0)  # shift+wheel scrolls sideways
            self.update()
        elif event.modifiers() & Qt.KeyboardModifier.ControlModifier and not delta.y():
            self.transform.pan(delta.x() / 2, delta.y() / 2)
            self.update()
        else:
            steps = delta.y() / 120.0
            if steps:
                self.set_zoom(next_zoom(self.zoom, steps), event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self.handler is not None and self.document is not None and self.handler.key(event):
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._refresh_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            if self._panning:
                self._stop_pan()
            self._refresh_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def enterEvent(self, event) -> None:  # noqa: N802
        self._refresh_cursor()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._move_outline(None)
        super().leaveEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        # a key release lost to another widget must not leave the view stuck in pan mode
        self._space_down = False
        if self._panning:
            self._stop_pan()
        super().focusOutEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        old = event.oldSize()
        if not self._fitted_once and self.document is not None and self.isVisible():
            self._fitted_once = True
            self.fit_to_window()
        elif old.isValid() and old.width() > 0:
            # keep the picture centred where it was as the window grows or shrinks
            self.transform.pan((self.width() - old.width()) / 2,
                               (self.height() - old.height()) / 2)
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        if not self._fitted_once and self.document is not None:
            self._fitted_once = True
            self.fit_to_window()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self.transform.dpr = self.devicePixelRatioF()
            self.update()
        super().changeEvent(event)
