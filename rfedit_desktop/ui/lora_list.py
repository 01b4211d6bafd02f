"""The edit panel's LoRA list: add a .safetensors file, set its weight, switch it on or off.

The list only names files and weights: the engine reads and checks them when an edit runs
(a LoRA that does not fit the model comes back as the edit's error message), so the GUI
process never opens weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

SLIDER_SCALE = 100  # slider units per weight unit (0.01 steps)
WEIGHT_RANGE = (-2.0, 2.0)


class LoraRow(QWidget):
    """One LoRA: on/off with its file name, a weight slider and a remove button."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, path: str, weight: float = 1.0, enabled: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox(Path(path).name)
        self.check.setToolTip(path)
        self.check.setChecked(enabled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(WEIGHT_RANGE[0] * SLIDER_SCALE), int(WEIGHT_RANGE[1] * SLIDER_SCALE))
        self.slider.setToolTip("LoRA weight")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(36)
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setToolTip("Remove this LoRA")
        layout.addWidget(self.check, 2)
        layout.addWidget(self.slider, 2)
        layout.addWidget(self.value_label)
        layout.addWidget(self.remove_button)
        self.set_weight(weight)
        self.check.toggled.connect(self.changed)
        self.slider.valueChanged.connect(self._slid)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))

    def weight(self) -> float:
        return round(self.slider.value() / SLIDER_SCALE, 2)

    def set_weight(self, weight: float) -> None:
        lo, hi = WEIGHT_RANGE
        self.slider.setValue(round(min(hi, max(lo, float(weight))) * SLIDER_SCALE))
        self.value_label.setText(f"{self.weight():.2f}")

    def _slid(self) -> None:
        self.value_label.setText(f"{self.weight():.2f}")
        self.changed.emit()


class LoraList(QWidget):
    """Every LoRA of the next edit; `loras()` gives the EditRequest's (path, weight) pairs."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[LoraRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout = QVBoxLayout()
        layout.addLayout(self.rows_layout)
        self.add_button = QPushButton("Add LoRA…")
        self.add_button.setToolTip("A FLUX.1 LoRA .safetensors file (diffusers, Kohya, XLabs "
                                   "or BFL naming)")
        self.add_button.clicked.connect(self._browse)
        layout.addWidget(self.add_button)

    def loras(self) -> tuple[tuple[str, float], ...]:
        """The enabled LoRAs with their weights, in list order."""
        return tuple((r.path, r.weight()) for r in self.rows if r.check.isChecked())

    def add(self, path: str, weight: float = 1.0, enabled: bool = True) -> LoraRow | None:
        """Add a file (a file already listed is not added twice)."""
        if any(r.path == path for r in self.rows):
            return None
        row = LoraRow(path, weight, enabled, self)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self.remove)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        self.changed.emit()
        return row

    def remove(self, row: LoraRow) -> None:
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.deleteLater()
        self.changed.emit()

    def set_loras(self, loras: Any) -> None:
        """Show these LoRAs: (path, weight) pairs or metadata dicts with "path" and "weight"."""
        for row in list(self.rows):
            self.rows.remove(row)
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        for item in loras or ():
            if isinstance(item, dict):
                path, weight = item.get("path") or item.get("name"), item.get("weight", 1.0)
            else:
                path, weight = item
            if path:
                self.add(str(path), float(weight))
        self.changed.emit()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "LoRA file", "", "LoRA (*.safetensors)")
        if path:
            self.add(path)
