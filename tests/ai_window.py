"""A real window with its AI editing, driven by a scripted engine instead of a model.

The engine server (in a thread of the test process, `ThreadEngine`), the protocol, the job
queue, the staging strip and every widget are the real ones; only the engine's backend is
replaced (`ScriptedEngine`), so results come back at once in a known colour and a test can hold
a job open to see the window while it runs.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox
from thread_engine import ThreadEngine

from rfedit_desktop.document import Document
from rfedit_desktop.engine.request import EditResult
from rfedit_desktop.errors import Cancelled, EditError
from rfedit_desktop.jobs import EditService, ModelChoice
from rfedit_desktop.ui.ai_editing import AiEditing
from rfedit_desktop.ui.main_window import MainWindow

WAIT_MS = 20_000


class ScriptedEngine:
    """The backend seam of the engine host: every edit returns `colour` everywhere."""

    def __init__(self) -> None:
        self.colour = (30, 60, 220)
        self.info_extra: dict = {}
        self.hold = threading.Event()  # set: edits wait here until cancelled or released
        self.release_hold = threading.Event()
        self.fail_load: str | None = None

    def load(self, choice, progress):
        progress(0.5, f"Loading {choice.model} …")
        if self.fail_load:
            raise EditError(self.fail_load)
        return {"model": choice.model}

    def info(self, engine):
        return {"model": engine["model"], "name": engine["model"], "device": "cpu",
                **self.info_extra}

    def run_edit(self, engine, request, progress, cancel):
        while self.hold.is_set() and not self.release_hold.is_set():
            if cancel.wait(0.02):
                raise Cancelled()
        h, w = request.image.shape[:2]
        image = np.empty((h, w, 3), np.uint8)
        image[:] = self.colour
        return EditResult(image=image, metadata={"prompt": request.prompt}, nfe=1)

    run_generate = run_edit

    def is_cached(self, engine, request):
        return False

    def release(self):
        pass


@pytest.fixture(name="ai_window")
def ai_window_fixture(qtbot, tmp_path, monkeypatch):
    """A 1400×900 window on a 64×48 picture, AI editing on a `ScriptedEngine`."""
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(restore_state=False, ai=False)
    engine = ScriptedEngine()
    link = ThreadEngine(engine)
    service = EditService(engine=link, choice=ModelChoice("tiny"))
    ai = AiEditing(window, service=service, choice=ModelChoice("tiny"))
    window.ai_editing = ai
    window.ai = ai  # type: ignore[attr-defined]
    window.engine = engine  # type: ignore[attr-defined]
    qtbot.addWidget(window, before_close_func=lambda w: w.discard_changes_and_close())
    doc = Document.new(64, 48, QColor(235, 230, 220))
    doc.add_layer("Strokes", undoable=False)
    doc.undo_stack.setClean()
    window.set_document(doc)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    yield window
    engine.release_hold.set()
    assert ai.shutdown(), "the engine's jobs did not stop"
    link.stop()


def run_by_keyboard(qtbot, window, prompt: str) -> None:
    """Type `prompt` into the Edit panel and press Ctrl+Enter there, as an artist does."""
    edit = window.ai.panel.prompt_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, prompt)
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def stage_by_keyboard(qtbot, window, prompt: str):
    """Run an edit from the keyboard and wait until its result waits in the staging strip."""
    before = len(window.ai.strip.results())
    run_by_keyboard(qtbot, window, prompt)
    qtbot.waitUntil(lambda: len(window.ai.strip.results()) > before, timeout=WAIT_MS)
    return window.ai.strip.results()[-1]
