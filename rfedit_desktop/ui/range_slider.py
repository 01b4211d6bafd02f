"""A range on one track: two handles for its ends, and the ends as numbers beside it (η window)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSizePolicy, QWidget

HANDLE_RADIUS = 6.0


class RangeSlider(QWidget):
    """`value()` is (low, high) with minimum ≤ low ≤ high ≤ maximum; drag a handle on the
    track or type an end. `valueChanged` carries the new pair."""

    valueChanged = Signal(tuple)  # noqa: N815 - Qt naming

    def __init__(self, minimum: float = 0.0, maximum: float = 1.0, decimals: int = 2,
                 step: float = 0.01, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min, self._max = float(minimum), float(maximum)
        self._low, self._high = self._min, self._max
        self.low_spin, self.high_spin = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.low_spin, self.high_spin):
            spin.setDecimals(decimals)
            spin.setSingleStep(step)
            spin.setRange(self._min, self._max)
            spin.setButtonSymbols(QDoubleSpinBox.ButtonSymbols.NoButtons)
            spin.setAlignment(Qt.AlignmentFlag.AlignRight)
            spin.setKeyboardTracking(False)
        self.low_spin.valueChanged.connect(lambda v: self.setValue((v, max(v, self._high))))
        self.high_spin.valueChanged.connect(lambda v: self.setValue((min(v, self._low), v)))
        self.track = _Track(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.low_spin)
        layout.addWidget(self.track, 1)
        layout.addWidget(self.high_spin)
        self._show()

    def value(self) -> tuple[float, float]:
        return self._low, self._high

    def setValue(self, value: tuple[float, float]) -> None:  # noqa: N802 - Qt naming
        low, high = (min(max(float(v), self._min), self._max) for v in value)
        low, high = min(low, high), max(low, high)  # kept exact; the numbers show it rounded
        if (low, high) == (self._low, self._high):
            self._show()
            return
        self._low, self._high = low, high
        self._show()
        self.valueChanged.emit((low, high))

    def fraction(self, value: float) -> float:
        span = self._max - self._min
        return (value - self._min) / span if span > 0 else 0.0

    def value_at(self, fraction: float) -> float:
        return self._min + min(max(fraction, 0.0), 1.0) * (self._max - self._min)

    def _show(self) -> None:
        for spin, v in ((self.low_spin, self._low), (self.high_spin, self._high)):
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)
        self.track.update()


class _Track(QWidget):
    """The painted track; a press picks the nearer handle and dragging moves it."""

    def __init__(self, owner: RangeSlider) -> None:
        super().__init__(owner)
        self.owner = owner
        self._dragging: int | None = None  # 0: low end, 1: high end
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(140, int(HANDLE_RADIUS * 2 + 6))

    def _x(self, value: float) -> float:
        usable = self.width() - 2 * HANDLE_RADIUS
        return HANDLE_RADIUS + self.owner.fraction(value) * usable

    def _value(self, x: float) -> float:
        usable = max(1.0, self.width() - 2 * HANDLE_RADIUS)
        return self.owner.value_at((x - HANDLE_RADIUS) / usable)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        low, high = self.owner.value()
        y = self.height() / 2
        pal = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        groove = pal.color(QPalette.ColorRole.Mid)
        accent = pal.color(QPalette.ColorRole.Highlight) if self.isEnabled() else groove
        painter.setPen(_round_pen(groove, 3))
        painter.drawLine(QPointF(HANDLE_RADIUS, y), QPointF(self.width() - HANDLE_RADIUS, y))
        painter.setPen(_round_pen(accent, 4))
        painter.drawLine(QPointF(self._x(low), y), QPointF(self._x(high), y))
        painter.setPen(QPen(QColor(0, 0, 0, 90), 1))
        painter.setBrush(pal.color(QPalette.ColorRole.Button).lighter(150)
                         if self.isEnabled() else groove)
        for value in (low, high):
            r = HANDLE_RADIUS
            painter.drawEllipse(QRectF(self._x(value) - r, y - r, 2 * r, 2 * r))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        low, high = self.owner.value()
        x = event.position().x()
        near_low, near_high = abs(x - self._x(low)), abs(x - self._x(high))
        if near_low == near_high:  # handles on top of each other: go where the press points
            self._dragging = 0 if x < self._x(low) else 1
        else:
            self._dragging = 0 if near_low < near_high else 1
        self._drag_to(x)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._dragging is not None:
            self._drag_to(event.position().x())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._dragging = None

    def _drag_to(self, x: float) -> None:
        low, high = self.owner.value()
        v = self._value(x)
        if self._dragging == 0:
            self.owner.setValue((min(v, high), high))
        else:
            self.owner.setValue((low, max(v, low)))


def _round_pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen
