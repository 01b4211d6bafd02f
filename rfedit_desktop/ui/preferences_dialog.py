"""Edit ▸ Preferences: autosave interval and the limits of the undo history."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget

from rfedit_desktop.ui.settings import read_float

AUTOSAVE_MINUTES = 3
UNDO_LIMIT = 1000
HISTORY_MEMORY_MB = 512


@dataclass(frozen=True)
class Preferences:
    autosave_minutes: int = AUTOSAVE_MINUTES  # 0 = off
    undo_limit: int = UNDO_LIMIT  # 0 = unlimited
    history_memory_mb: int = HISTORY_MEMORY_MB  # RAM for stroke undo tiles; beyond: temp file

    @classmethod
    def load(cls, settings: QSettings) -> Preferences:
        def whole(key: str, default: int, low: int, high: int) -> int:
            return int(min(high, max(low, read_float(settings, key, default))))

        return cls(whole("autosave_minutes", AUTOSAVE_MINUTES, 0, 120),
                   whole("undo_limit", UNDO_LIMIT, 0, 100_000),
                   whole("history_memory_mb", HISTORY_MEMORY_MB, 16, 65_536))

    def save(self, settings: QSettings) -> None:
        settings.setValue("autosave_minutes", self.autosave_minutes)
        settings.setValue("undo_limit", self.undo_limit)
        settings.setValue("history_memory_mb", self.history_memory_mb)


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 120)
        self.autosave.setSuffix(" min")
        self.autosave.setSpecialValueText("off")
        self.autosave.setValue(prefs.autosave_minutes)
        self.undo = QSpinBox()
        self.undo.setRange(0, 100_000)
        self.undo.setSpecialValueText("unlimited")
        self.undo.setValue(prefs.undo_limit)
        self.undo.setToolTip("Applies to the next document you create or open")
        self.memory = QSpinBox()
        self.memory.setRange(16, 65_536)
        self.memory.setSuffix(" MB")
        self.memory.setValue(prefs.history_memory_mb)
        self.memory.setToolTip("Older strokes are compressed to a temporary file beyond this")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Autosave every", self.autosave)
        form.addRow("Undo steps", self.undo)
        form.addRow("Undo memory", self.memory)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(self.autosave.value(), self.undo.value(), self.memory.value())
