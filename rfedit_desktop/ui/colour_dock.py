"""Colour dock: foreground/background swatches, an HSV picker and a hex field."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.tool_state import ToolState


class Swatches(QWidget):
    """Two overlapping squares (foreground on top); a click opens a colour dialog."""

    def __init__(self, tools: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.setFixedSize(QSize(52, 52))
        self.setToolTip("Foreground / background colour (click to choose; X swaps, D resets)")
        tools.colours_changed.connect(lambda *_: self.update())

    def _fg_rect(self) -> QRect:
        return QRect(1, 1, 32, 32)

    def _bg_rect(self) -> QRect:
        return QRect(19, 19, 32, 32)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(QPen(QColor(140, 140, 140), 1))
        p.setBrush(self.tools.background)
        p.drawRect(self._bg_rect().adjusted(0, 0, -1, -1))
        p.setBrush(self.tools.foreground)
        p.drawRect(self._fg_rect().adjusted(0, 0, -1, -1))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        fg = self._fg_rect().contains(event.position().toPoint())
        current = self.tools.foreground if fg else self.tools.background
        title = "Foreground colour" if fg else "Background colour"
        colour = QColorDialog.getColor(current, self, title)
        if colour.isValid():
            (self.tools.set_foreground if fg else self.tools.set_background)(colour)


class HsvPicker(QWidget):
    """A saturation/value square with a hue bar beside it; edits the foreground colour."""

    colour_chosen = Signal(QColor)
    HUE_BAR = 16
    GAP = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._h, self._s, self._v = 0.0, 0.0, 0.0
        self._drag: str | None = None
        self.setMinimumSize(QSize(120, 100))
        self.setMaximumHeight(200)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, 150)

    def set_colour(self, colour: QColor) -> None:
        h, s, v, _ = colour.getHsvF()
        if h >= 0:  # greys have no hue: keep the last one so the square does not jump
            self._h = h
        self._s, self._v = s, v
        self.update()

    def colour(self) -> QColor:
        return QColor.fromHsvF(self._h, self._s, self._v)

    def _square(self) -> QRectF:
        side_w = self.width() - self.HUE_BAR - self.GAP - 1
        return QRectF(0.5, 0.5, max(10, side_w), max(10, self.height() - 1))

    def _bar(self) -> QRectF:
        sq = self._square()
        return QRectF(sq.right() + self.GAP, 0.5, self.HUE_BAR, sq.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        sq = self._square()
        p.fillRect(sq, QColor.fromHsvF(self._h, 1.0, 1.0))
        white = QLinearGradient(sq.topLeft(), sq.topRight())
        white.setColorAt(0, QColor(255, 255, 255))
        white.setColorAt(1, QColor(255, 255, 255, 0))
        p.fillRect(sq, white)
        black = QLinearGradient(sq.topLeft(), sq.bottomLeft())
        black.setColorAt(0, QColor(0, 0, 0, 0))
        black.setColorAt(1, QColor(0, 0, 0))
        p.fillRect(sq, black)
        bar = self._bar()
        hues = QLinearGradient(bar.topLeft(), bar.bottomLeft())
        for i in range(7):
            hues.setColorAt(i / 6, QColor.fromHsvF(min(i / 6, 0.9999), 1.0, 1.0))
        p.fillRect(bar, hues)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(Qt.BrushStyle.NoBrush)
        marker = QPointF(sq.left() + self._s * sq.width(), sq.top() + (1 - self._v) * sq.height())
        p.setPen(QPen(QColor(0, 0, 0), 1.5))
        p.drawEllipse(marker, 5, 5)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawEllipse(marker, 3.5, 3.5)
        y = bar.top() + self._h * bar.height()
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawRect(QRectF(bar.left() - 1, y - 2, bar.width() + 2, 4))
        p.end()

    def _apply(self, pos: QPointF) -> None:
        if self._drag == "square":
            sq = self._square()
            self._s = min(1.0, max(0.0, (pos.x() - sq.left()) / sq.width()))
            self._v = 1.0 - min(1.0, max(0.0, (pos.y() - sq.top()) / sq.height()))
        elif self._drag == "hue":
            bar = self._bar()
            self._h = min(0.9999, max(0.0, (pos.y() - bar.top()) / bar.height()))
        self.update()
        self.colour_chosen.emit(self.colour())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._drag = "hue" if pos.x() > self._square().right() + self.GAP / 2 else "square"
        self._apply(pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag:
            self._apply(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None


class ColourPanel(QWidget):
    def __init__(self, tools: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.swatches = Swatches(tools)
        self.picker = HsvPicker()
        self.hex = QLineEdit()
        self.hex.setPlaceholderText("#rrggbb")
        self.hex.setMaxLength(9)
        self.hex.setToolTip("Foreground colour as hex")
        swap = QToolButton()
        swap.setIcon(icon("swap"))
        swap.setToolTip("Swap colours (X)")
        swap.clicked.connect(tools.swap_colours)
        reset = QToolButton()
        reset.setIcon(icon("reset-colours"))
        reset.setToolTip("Default colours (D)")
        reset.clicked.connect(tools.default_colours)
        side = QVBoxLayout()
        side.addWidget(self.swatches)
        buttons = QHBoxLayout()
        buttons.addWidget(swap)
        buttons.addWidget(reset)
        side.addLayout(buttons)
        side.addWidget(self.hex)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.picker, 1)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.hex.setFixedWidth(80)
        self.picker.colour_chosen.connect(tools.set_foreground)
        self.hex.editingFinished.connect(self._hex_entered)
        tools.colours_changed.connect(self._show)
        self._show(tools.foreground, tools.background)

    def _show(self, fg: QColor, _bg: QColor) -> None:
        if self.picker.colour() != fg:
            self.picker.set_colour(fg)
        if not self.hex.hasFocus():
            self.hex.setText(fg.name())

    def _hex_entered(self) -> None:
        colour = QColor(self.hex.text().strip())
        if colour.isValid():
            self.tools.set_foreground(colour)
        else:
            self.hex.setText(self.tools.foreground.name())
