"""Tool options: brush size, hardness, opacity, flow, spacing and what pen pressure drives."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.ui.tool_state import MAX_SIZE, MIN_SIZE, BrushSettings, ToolState


class SliderRow(QWidget):
    """A slider and a spin box that show one integer value; either edits it."""

    value_changed = Signal(int)

    def __init__(self, minimum: int, maximum: int, suffix: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(minimum, maximum)
        self.spin = QSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setSuffix(suffix)
        self.spin.setFixedWidth(72)
        self.spin.setKeyboardTracking(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def value(self) -> int:
        return self.spin.value()

    def set_value(self, value: int) -> None:
        """Show `value` without emitting (it came from the model)."""
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(int(value))
            w.blockSignals(False)

    def _from_slider(self, v: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.value_changed.emit(v)

    def _from_spin(self, v: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(v)
        self.slider.blockSignals(False)
        self.value_changed.emit(v)


class ToolOptionsPanel(QWidget):
    """Edits `ToolState.brush`; follows it when it changes elsewhere (e.g. the [ ] keys)."""

    def __init__(self, tools: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.size = SliderRow(int(MIN_SIZE), int(MAX_SIZE), " px")
        self.hardness = SliderRow(0, 100, " %")
        self.opacity = SliderRow(0, 100, " %")
        self.flow = SliderRow(1, 100, " %")
        self.spacing = SliderRow(2, 200, " %")
        self.pressure_size = QCheckBox("Pressure → size")
        self.pressure_opacity = QCheckBox("Pressure → opacity")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Size", self.size)
        form.addRow("Hardness", self.hardness)
        form.addRow("Opacity", self.opacity)
        form.addRow("Flow", self.flow)
        form.addRow("Spacing", self.spacing)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.pressure_size)
        layout.addWidget(self.pressure_opacity)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        def percent(name: str) -> Callable[[int], None]:
            return lambda v: tools.update_brush(**{name: v / 100.0})

        self.size.value_changed.connect(lambda v: tools.update_brush(size=float(v)))
        self.hardness.value_changed.connect(percent("hardness"))
        self.opacity.value_changed.connect(percent("opacity"))
        self.flow.value_changed.connect(percent("flow"))
        self.spacing.value_changed.connect(percent("spacing"))
        self.pressure_size.toggled.connect(lambda on: tools.update_brush(pressure_size=on))
        self.pressure_opacity.toggled.connect(lambda on: tools.update_brush(pressure_opacity=on))
        tools.brush_changed.connect(self._show)
        self._show(tools.brush)

    def _show(self, brush: BrushSettings) -> None:
        self.size.set_value(round(brush.size))
        self.hardness.set_value(round(brush.hardness * 100))
        self.opacity.set_value(round(brush.opacity * 100))
        self.flow.set_value(round(brush.flow * 100))
        self.spacing.set_value(round(brush.spacing * 100))
        for box, on in ((self.pressure_size, brush.pressure_size),
                        (self.pressure_opacity, brush.pressure_opacity)):
            box.blockSignals(True)
            box.setChecked(on)
            box.blockSignals(False)
