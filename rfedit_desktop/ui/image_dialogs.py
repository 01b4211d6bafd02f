"""Image ▸ Image Size and Canvas Size dialogs: they only collect numbers; the document checks
them (a size of 0 or 100 000 is refused there with a message, the picture untouched)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.document.image_ops import ANCHORS

MAX_INPUT = 100_000
"""The spin boxes accept more than a document may be, so the refusal has words, not a clamp."""
RESAMPLING_LABELS = {"smooth": "Smooth (area average / bilinear)", "lanczos": "Lanczos",
                     "nearest": "Nearest neighbour (pixel art)"}


def _spin(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, MAX_INPUT)
    spin.setValue(value)
    spin.setSuffix(" px")
    return spin


class _SizeDialog(QDialog):
    def __init__(self, title: str, width: int, height: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.original = (width, height)
        self.width_spin = _spin(width)
        self.height_spin = _spin(height)
        self.form = QFormLayout()
        self.form.addRow("Width", self.width_spin)
        self.form.addRow("Height", self.height_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addLayout(self.form)
        self.buttons = buttons

    def _finish(self) -> None:
        self.layout_.addWidget(self.buttons)


class ImageSizeDialog(_SizeDialog):
    """New picture size (proportions kept unless unticked) and the resampling."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__("Image Size", width, height, parent)
        self.keep = QCheckBox("Keep proportions")
        self.keep.setChecked(True)
        self.method = QComboBox()
        for key, label in RESAMPLING_LABELS.items():
            self.method.addItem(label, key)
        self.form.addRow("", self.keep)
        self.form.addRow("Resampling", self.method)
        self._finish()
        self.width_spin.valueChanged.connect(self._width_changed)
        self.height_spin.valueChanged.connect(self._height_changed)

    def _width_changed(self, w: int) -> None:
        if self.keep.isChecked():
            ow, oh = self.original
            self.height_spin.blockSignals(True)
            self.height_spin.setValue(max(1, round(w * oh / ow)) if w else 0)
            self.height_spin.blockSignals(False)

    def _height_changed(self, h: int) -> None:
        if self.keep.isChecked():
            ow, oh = self.original
            self.width_spin.blockSignals(True)
            self.width_spin.setValue(max(1, round(h * ow / oh)) if h else 0)
            self.width_spin.blockSignals(False)

    def values(self) -> tuple[int, int, str]:
        return self.width_spin.value(), self.height_spin.value(), self.method.currentData()


class CanvasSizeDialog(_SizeDialog):
    """New canvas size and where the old picture sits in it (nine anchors)."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__("Canvas Size", width, height, parent)
        grid = QGridLayout()
        self.anchors = QButtonGroup(self)
        self._keys: dict[int, str] = {}
        for i, (key, (fx, fy)) in enumerate(ANCHORS.items()):
            button = QRadioButton()
            button.setToolTip(key)
            grid.addWidget(button, int(fy * 2), int(fx * 2))
            self.anchors.addButton(button, i)
            self._keys[i] = key
            button.setChecked(key == "center")
        holder = QWidget()
        holder.setLayout(grid)
        self.form.addRow("Anchor", holder)
        self._finish()

    def set_anchor(self, key: str) -> None:
        for i, k in self._keys.items():
            if k == key:
                self.anchors.button(i).setChecked(True)

    def values(self) -> tuple[int, int, str]:
        return (self.width_spin.value(), self.height_spin.value(),
                self._keys[self.anchors.checkedId()])
