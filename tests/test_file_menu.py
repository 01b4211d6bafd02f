"""File ▸ Export suggests a new file and asks JPEG/WebP quality; File ▸ Close asks first."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

from rfedit_desktop.ui.main_window import MainWindow

SB = QMessageBox.StandardButton


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))
    win = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=2000)
    return win


@pytest.fixture
def photo(tmp_path):
    """A photo-like picture: smooth gradients with grain, so JPEG quality changes its size."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:128]
    rgb = np.dstack([x * 2, y * 2, (x + y)]).astype(np.float32) + rng.normal(0, 12, (96, 128, 3))
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, quality=95)
    return path


def save_dialog_answers(monkeypatch, answer: str, asked: list) -> None:
    def fake(parent, caption, start, filters, *args, **kwargs):
        asked.append(start)
        return answer, ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)


def in_quality_dialog(qtbot, typed: str | None, seen: list) -> None:
    """Read the quality dialog's value, type `typed` into it and press OK (None: Cancel)."""
    def step() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, step)
            return
        seen.append(dialog.intValue())
        if typed is None:
            dialog.reject()
            return
        from PySide6.QtWidgets import QSpinBox

        spin = dialog.findChild(QSpinBox)
        spin.selectAll()
        qtbot.keyClicks(spin, typed)
        qtbot.keyClick(spin, Qt.Key.Key_Return)
    QTimer.singleShot(0, step)


def press(qtbot, window, key, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    window.activateWindow()  # back from a closed dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifiers)


def test_export_suggests_a_new_name_never_the_photo(qtbot, window, photo, monkeypatch,
                                                    tmp_path) -> None:
    assert window.files.open_path(str(photo))
    asked: list = []
    save_dialog_answers(monkeypatch, "", asked)
    press(qtbot, window, Qt.Key.Key_E)
    assert asked == [str(tmp_path / "photo-edited.png")]
    (tmp_path / "photo-edited.png").write_bytes(b"an earlier export")
    press(qtbot, window, Qt.Key.Key_E)
    assert asked[-1] == str(tmp_path / "photo-edited-2.png")
    assert not any(os.path.exists(a) for a in asked[1:]) and asked[-1] != str(photo)


def test_jpeg_export_asks_quality_and_remembers_it(qtbot, window, photo, monkeypatch,
                                                   tmp_path) -> None:
    assert window.files.open_path(str(photo))
    out = {q: str(tmp_path / f"q{q}.jpg") for q in (30, 95)}
    seen: list = []
    for quality in (30, 95):
        save_dialog_answers(monkeypatch, out[quality], [])
        in_quality_dialog(qtbot, str(quality), seen)
        press(qtbot, window, Qt.Key.Key_E)
        assert os.path.exists(out[quality]), (seen, os.listdir(tmp_path))
    assert seen[1] == 30, "the quality chosen last time is offered again"
    assert os.path.getsize(out[30]) < os.path.getsize(out[95])
    cancelled = str(tmp_path / "cancelled.webp")
    save_dialog_answers(monkeypatch, cancelled, [])
    in_quality_dialog(qtbot, None, seen)
    press(qtbot, window, Qt.Key.Key_E)
    assert seen[-1] == 95 and not os.path.exists(cancelled)
    png = str(tmp_path / "lossless.png")
    save_dialog_answers(monkeypatch, png, [])
    press(qtbot, window, Qt.Key.Key_E)  # no quality question for PNG
    assert os.path.exists(png)


def test_close_asks_to_save_a_dirty_document(qtbot, window, photo, monkeypatch) -> None:
    assert window.files.open_path(str(photo))
    window.document.add_layer("unsaved work")
    asked: list = []

    def answer(reply):
        def question(parent, title, text, *args, **kwargs):
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(SB.Cancel))
    press(qtbot, window, Qt.Key.Key_W)
    assert asked and "photo.jpg" in asked[0]
    assert "unsaved work" in [la.name for la in window.document.layers], "Cancel keeps it"
    monkeypatch.setattr(QMessageBox, "question", answer(SB.Discard))
    press(qtbot, window, Qt.Key.Key_W)
    assert window.document.display_name == "Untitled" and not window.is_modified()
    asked.clear()
    press(qtbot, window, Qt.Key.Key_W)
    assert not asked, "a clean document closes without a question"
    file_menu = [a.text().replace("&", "") for a in window.file_menu.actions()]
    assert "Close" in file_menu
