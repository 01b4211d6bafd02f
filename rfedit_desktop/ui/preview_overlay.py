"""The live preview and staged results drawn over the canvas, kept apart from the document.

Showing a result never touches the document's pixels: only applying it does (one undo step).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion, QTransform
from PySide6.QtWidgets import QWidget


class PreviewOverlay(QWidget):
    """Draws the live preview (or a staged result) over the canvas's document rectangle.

    A transparent child of the canvas that ignores the mouse, so painting and panning go on
    underneath; it reads the canvas's view transform on every paint, so zoom and pan follow.
    """

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._image: QImage | None = None
        self._caption = ""
        self._clip: QRegion | None = None  # document pixels the image may cover (a mask)
        self._rect: QRect | None = None  # document pixels the image is drawn into (a region)
        self._hidden_for_compare = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None, caption: str = "",
                  clip: QRegion | None = None, rect: QRect | None = None) -> None:
        """`clip`: show the image only there (a masked edit changes nothing elsewhere).
        `rect`: draw the image into that part of the picture (a preview of an edit region);
        default the whole picture."""
        self._image = image
        self._caption = caption
        self._clip = clip
        self._rect = QRect(rect) if rect is not None else None
        self.setVisible(image is not None and not self._hidden_for_compare)
        self.update()

    def set_comparing(self, on: bool) -> None:
        """While on, the canvas shows the document itself (the original)."""
        self._hidden_for_compare = on
        self.setVisible(self._image is not None and not on)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._canvas.rect())
        return False

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._image is None:
            return
        canvas = self._canvas
        size = canvas.doc_size() if hasattr(canvas, "doc_size") else self._image.size()
        transform = getattr(canvas, "transform", None)
        if transform is None or size.isEmpty():
            return
        whole = transform.rect_to_view(QRect(QPoint(0, 0), size))
        target = transform.rect_to_view(self._rect) if self._rect is not None else whole
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._clip is not None:
            to_view = QTransform()
            to_view.translate(whole.left(), whole.top())
            to_view.scale(whole.width() / size.width(), whole.height() / size.height())
            painter.setClipRegion(to_view.map(self._clip))
        painter.drawImage(target, self._image)
        painter.setClipping(False)
        if self._caption:
            metrics = painter.fontMetrics()
            box = QRectF(target.left() + 6, target.top() + 6,
                         metrics.horizontalAdvance(self._caption) + 14, metrics.height() + 8)
            painter.fillRect(box, QColor(20, 20, 20, 190))
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._caption)
        painter.end()

