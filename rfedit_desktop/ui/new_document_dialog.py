"""File ▸ New: size and background of a blank document."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

MAX_SIDE = 16384
PRESETS = [
    ("1024 × 768", 1024, 768),
    ("1024 × 1024 (square)", 1024, 1024),
    ("512 × 512", 512, 512),
    ("1920 × 1080 (HD)", 1920, 1080),
    ("2048 × 2048", 2048, 2048),
    ("4096 × 4096", 4096, 4096),
]
FILLS = [("White", QColor(255, 255, 255)), ("Transparent", QColor(0, 0, 0, 0)),
         ("Black", QColor(0, 0, 0))]


class NewDocumentDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Image")
        self.preset = QComboBox()
        for label, w, h in PRESETS:
            self.preset.addItem(label, (w, h))
        self.width_box = QSpinBox()
        self.height_box = QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(1, MAX_SIDE)
            box.setSuffix(" px")
        self.fill = QComboBox()
        for label, colour in FILLS:
            self.fill.addItem(label, colour)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_box)
        form.addRow("Background", self.fill)
        form.addRow(buttons)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self._preset_chosen(0)

    def _preset_chosen(self, index: int) -> None:
        w, h = self.preset.itemData(index)
        self.width_box.setValue(w)
        self.height_box.setValue(h)

    def values(self) -> tuple[int, int, QColor]:
        return self.width_box.value(), self.height_box.value(), QColor(self.fill.currentData())
