"""The window's engine is a child process: edits reach it through the protocol, previews come
back, and killing it (kill -9) mid-edit loses nothing and the next edit runs.

The window here is real (pytest-qt, offscreen) and its engine is the real child process with
the tiny model. Whether the GUI process imports torch is checked in a fresh subprocess, since
other tests of the suite import torch into the pytest process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor

from rfedit_desktop.document import Document
from rfedit_desktop.jobs import ModelChoice
from rfedit_desktop.ui.ai_editing import AiEditing
from rfedit_desktop.ui.main_window import MainWindow

SIZE = 64
WAIT_MS = 120_000
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def win(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    doc = Document.new(SIZE, SIZE, QColor(200, 180, 150))
    doc.undo_stack.setClean()
    window.set_document(doc)
    ai = getattr(window, "ai_editing", None) or AiEditing(window)
    window.ai = ai  # type: ignore[attr-defined]
    ai.load_model(ModelChoice("tiny"))
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: ai.service.model_info is not None, timeout=WAIT_MS)
    yield window
    ai.shutdown()
    window.document.undo_stack.setClean()
    window.close()


def edit(qtbot, window, prompt: str, steps: int = 4) -> list[int]:
    ai = window.ai
    ai.panel.steps_spin.setValue(steps)
    ai.panel.prompt_edit.setPlainText(prompt)
    ids = ai.run()
    assert ids, ai.panel.status_label.text()
    return ids


def test_an_edit_runs_in_the_engine_process_and_previews_arrive(qtbot, win) -> None:
    ai = win.ai
    engine_pid = ai.service.engine.pid
    assert engine_pid and engine_pid != os.getpid()
    assert "local engine" in ai.engine_label.text()
    previews = []
    ai.service.preview.connect(lambda job, image: previews.append(image))
    edit(qtbot, win, "a bright landscape")
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    (staged,) = ai.strip.results()
    assert staged.pixels.shape == (SIZE, SIZE, 3)
    assert previews and not previews[-1].isNull()
    assert ai.service.engine.pid == engine_pid  # the same process served it


def test_killing_the_engine_mid_edit_keeps_document_and_staging(qtbot, win) -> None:
    ai = win.ai
    edit(qtbot, win, "first result")
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    (kept,) = ai.strip.results()
    before = win.document.composite_for_edit("visible").copy()
    index = win.document.undo_stack.index()
    steps: list[int] = []
    ai.service.progress.connect(lambda job, phase, step, total: steps.append(step))
    failures: list[str] = []
    ai.service.failed.connect(lambda job, message: failures.append(message))
    old_pid = ai.service.engine.pid

    edit(qtbot, win, "never finished", steps=200)
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=WAIT_MS)
    os.kill(old_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)

    assert len(failures) == 1 and "engine process stopped (killed by SIGKILL)" in failures[0]
    assert "engine process stopped" in ai.panel.status_label.text()
    assert [r.id for r in ai.strip.results()] == [kept.id]  # staging untouched
    assert np.array_equal(win.document.composite_for_edit("visible"), before)
    assert win.document.undo_stack.index() == index
    assert ai.overlay.image() is None or ai.overlay.image() == kept.image

    qtbot.waitUntil(lambda: ai.service.model_info is not None, timeout=WAIT_MS)
    assert ai.service.engine.pid not in (None, old_pid)  # a new engine, model loaded again
    edit(qtbot, win, "after the crash")
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert len(ai.strip.results()) == 2


GUI_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from PySide6.QtWidgets import QApplication
    from PySide6.QtGui import QColor
    app = QApplication([])
    from rfedit_desktop.document import Document
    from rfedit_desktop.jobs import ModelChoice
    from rfedit_desktop.ui.main_window import MainWindow
    window = MainWindow(restore_state=False)
    window.set_document(Document.new(64, 64, QColor(90, 120, 200)))
    ai = window.ai_editing
    ai.load_model(ModelChoice("tiny"))
    window.show()
    previews = []
    ai.service.preview.connect(lambda job, image: previews.append(job))
    ai.panel.steps_spin.setValue(4)
    ai.panel.prompt_edit.setPlainText("a sea")
    deadline = time.time() + 120
    while ai.service.model_info is None and time.time() < deadline:
        app.processEvents(); time.sleep(0.01)
    ai.run()
    while ai.is_busy() and time.time() < deadline:
        app.processEvents(); time.sleep(0.01)
    heavy = [m for m in ("torch", "diffusers", "transformers") if m in sys.modules]
    print("results", len(ai.strip.results()), "previews", len(previews))
    print("heavy", ",".join(heavy) or "none")
    print("engine", ai.service.engine.pid, flush=True)
    os._exit(0)  # a crash-like exit: no shutdown, no aboutToQuit
""")


def test_gui_process_never_imports_torch_and_leaves_no_orphan(tmp_path) -> None:
    script = tmp_path / "gui.py"
    script.write_text(GUI_SCRIPT, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["results"].startswith("1 previews") and not lines["results"].endswith(" 0")
    assert lines["heavy"] == "none"  # the window never loaded the model stack itself
    pid = int(lines["engine"])
    deadline = time.time() + 30
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the engine outlived the GUI that started it"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_engine_that_dies_while_loading_is_restarted_once_and_not_reloaded(qtbot) -> None:
    """A model whose load kills its engine must not restart the engine for ever."""
    from rfedit_desktop.jobs import EditService
    from rfedit_desktop.jobs.engine_link import LocalEngine

    link = LocalEngine(ModelChoice("tiny"))
    service = EditService(engine=link, choice=ModelChoice("tiny"))
    loading: list[str] = []
    failures: list[str] = []
    service.model_loading.connect(lambda fraction, message: loading.append(message))
    service.failed.connect(lambda job, message: failures.append(message))
    try:
        service.load_model(ModelChoice("demo"))
        qtbot.waitUntil(lambda: bool(loading), timeout=WAIT_MS)
        old_pid = link.pid
        os.kill(old_pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not service.is_busy(), timeout=WAIT_MS)
        assert len(failures) == 1 and "killed by SIGKILL" in failures[0]
        qtbot.wait(1500)  # time enough for a retry to show itself
        assert not service.is_busy() and service.model_info is None and len(failures) == 1
        assert link.starts == 2 and link.pid not in (None, old_pid)
        assert link.client().info()["info"]["engine"] is None  # restarted, nothing loaded
    finally:
        service.shutdown(5000)
        link.stop()
