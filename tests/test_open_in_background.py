"""Opening a large project: the window keeps painting and shows progress while it loads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from rfedit_desktop.document import Document, load_ora
from rfedit_desktop.document import ora as ora_mod
from rfedit_desktop.document.image_io import array_to_qimage
from rfedit_desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))
    shown = []
    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, lambda *a, **k: shown.append(a))
    return shown


def big_project(path) -> None:
    rng = np.random.default_rng(3)
    doc = Document.new(1200, 900, QColor(240, 235, 225))
    for i in range(3):
        pixels = rng.integers(0, 256, (900, 1200, 4), np.uint8)
        doc.add_layer(f"noise {i}", image=array_to_qimage(pixels), undoable=False)
    doc.save(path)


def test_the_window_keeps_painting_while_a_big_project_loads(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "big.ora"
    big_project(path)
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    ticks = [0]
    dialog_seen = []
    timer = QTimer()
    timer.setInterval(20)

    def tick() -> None:
        ticks[0] += 1
        window.canvas.update()  # a repaint request, served only if the loop turns
        dialog_seen.extend(w for w in QApplication.topLevelWidgets()
                           if isinstance(w, QProgressDialog) and w.isVisible())

    timer.timeout.connect(tick)
    timer.start()

    # Hold the decoder until the GUI has turned its loop a few times and shown progress (or
    # give up after a while): loading on the GUI thread can never see a tick here.
    during: list[int] = []
    on_gui_thread: list[bool] = []
    real_decode = ora_mod._decode_png

    def slow_decode(*args):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        deadline = time.monotonic() + 20.0
        start = ticks[0]
        while (ticks[0] - start < 5 or not dialog_seen) and time.monotonic() < deadline:
            time.sleep(0.01)
        during.append(ticks[0] - start)
        return real_decode(*args)

    monkeypatch.setattr(ora_mod, "_decode_png", slow_decode)
    assert window.files.open_path(str(path), ask=False)
    timer.stop()
    monkeypatch.undo()

    assert on_gui_thread and not any(on_gui_thread)
    assert during and min(during) >= 5  # the event loop kept turning during every layer
    assert dialog_seen  # and the artist saw a progress dialog
    assert not any(w.isVisible() for w in QApplication.topLevelWidgets()
                   if isinstance(w, QProgressDialog))

    expected = load_ora(path)
    opened = window.document
    assert opened.file_path == str(path) and not opened.modified
    assert [la.properties() | {"id": 0} for la in opened.layers] == [
        la.properties() | {"id": 0} for la in expected.layers]
    for a, b in zip(opened.layers, expected.layers, strict=True):
        assert np.array_equal(a.rgba(straight=False), b.rgba(straight=False))
    window.document.undo_stack.setClean()
    window.close()


def test_a_failed_background_open_keeps_the_current_document(qtbot, tmp_path, own_folders):
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    before = window.document
    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"not a zip")
    assert window.files.open_path(str(bad), ask=False) is False
    assert window.document is before
    assert own_folders and "bad.ora" in str(own_folders[-1])
    window.close()
