"""The window on a remote engine (`rfedit-server` in another process): chosen in the Model
dialog, shown in the status bar, and previews, results and cancel work as with the local one."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from PySide6.QtGui import QColor

from rfedit_desktop.document import Document
from rfedit_desktop.protocol.client import EngineClient, free_port
from rfedit_desktop.protocol.model_choice import ModelChoice
from rfedit_desktop.ui.ai_editing import AiEditing
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.model_dialog import ModelDialog

WAIT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    token_file = tmp_path_factory.mktemp("remote") / "token"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfedit_desktop.server", "--model", "tiny", "--port", str(port),
         "--token-file", str(token_file)], env=dict(os.environ, PYTHONUNBUFFERED="1"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                token = token_file.read_text().strip()
                if EngineClient(url, token).info()["info"]["state"] == "ready":
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            assert proc.poll() is None
            time.sleep(0.2)
        yield url, token_file.read_text().strip()
    finally:
        proc.terminate()
        proc.wait(20)


def test_model_dialog_offers_a_remote_engine(qtbot) -> None:
    dialog = ModelDialog(ModelChoice(), remote=("http://gpu-box:8765", "secret", ""))
    qtbot.addWidget(dialog)
    assert dialog.kind() == "remote" and dialog.remote() == ("http://gpu-box:8765", "secret", "")
    dialog.remote_model_edit.setText(" demo ")
    assert dialog.remote() == ("http://gpu-box:8765", "secret", "demo")
    assert not dialog.device_combo.isEnabled() and dialog.url_edit.isEnabled()
    dialog.token_edit.clear()
    dialog.accept()
    assert "URL and its token" in dialog.error_label.text() and dialog.result() == 0
    dialog.radio["demo"].setChecked(True)
    assert dialog.remote() is None and not dialog.url_edit.isEnabled()


def test_the_remote_token_is_kept_out_of_the_settings_file(tmp_path) -> None:
    from rfedit_desktop.ui.engine_settings import load_remote, save_remote, token_path
    from rfedit_desktop.ui.settings import app_settings

    settings = app_settings()
    save_remote(settings, "http://gpu-box:8765", " s3cret-token ", "demo")
    assert load_remote(app_settings()) == ("http://gpu-box:8765", "s3cret-token", "demo")
    settings_file = settings.fileName()
    assert "s3cret-token" not in open(settings_file, encoding="utf-8", errors="replace").read()
    assert os.stat(token_path()).st_mode & 0o777 == 0o600
    save_remote(settings, None, None)  # back to the local engine: the token is forgotten
    assert load_remote(app_settings()) is None and not token_path().exists()


def test_edit_and_cancel_on_a_remote_engine(qtbot, server, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    from rfedit_desktop.jobs.engine_link import parse_remote

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    url, token = server
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    window.set_document(Document.new(64, 64, QColor(40, 140, 90)))
    ai = window.ai_editing or AiEditing(window)
    ai.service.set_engine(parse_remote(url, token))
    ready = []
    ai.service.model_ready.connect(ready.append)
    ai.load_model()
    qtbot.waitUntil(lambda: bool(ready), timeout=WAIT_MS)
    assert ready[0]["model"].startswith("tiny")
    assert ai.engine_label.text() == f"engine: remote engine at {url}"

    previews = []
    ai.service.preview.connect(lambda job, image: previews.append(image))
    ai.panel.steps_spin.setValue(4)
    ai.panel.prompt_edit.setPlainText("a forest")
    assert ai.run()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert len(ai.strip.results()) == 1 and previews

    steps = []
    ai.service.progress.connect(lambda job, phase, step, total: steps.append(step))
    ai.panel.steps_spin.setValue(200)
    ai.panel.seed_spin.setValue(7)
    assert ai.run()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=WAIT_MS)
    ai.cancel()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert "Cancelled" in ai.panel.status_label.text()
    assert len(ai.strip.results()) == 1
    qtbot.waitUntil(lambda: EngineClient(url, token).info()["info"]["running"] is None,
                    timeout=10_000)  # the engine stopped it, not only the window
    ai.shutdown()
    window.document.undo_stack.setClean()
    window.close()


def test_a_model_the_server_does_not_serve_is_refused_in_one_line(qtbot, server) -> None:
    from rfedit_desktop.jobs import EditService
    from rfedit_desktop.jobs.engine_link import parse_remote

    url, token = server
    service = EditService(engine=parse_remote(url, token, "flux-dev"))
    failed: list[str] = []
    ready: list[dict] = []
    service.model_failed.connect(failed.append)
    service.model_ready.connect(ready.append)
    try:
        service.load_model()
        qtbot.waitUntil(lambda: bool(failed), timeout=WAIT_MS)
        assert "serves only tiny" in failed[0] and "\n" not in failed[0]
        service.set_engine(parse_remote(url, token, "tiny"))  # one it serves
        service.load_model()
        qtbot.waitUntil(lambda: bool(ready), timeout=WAIT_MS)
        assert ready[0]["model"].startswith("tiny")
    finally:
        service.shutdown(5000)
