"""What the AI screenshot scripts share: the window on a document, with its model loaded.

Imported by screenshot_compare.py, screenshot_edit.py and screenshot_region.py after they have
pointed rfedit's folders at temporary ones (a screenshot never touches the real settings).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rfedit_desktop import paths


def default_model(given: str | None) -> str:
    """The model the screenshot uses: the one given, else the demo (the tiny model without it)."""
    return given or ("demo" if paths.demo_model_dir().is_dir() else "tiny")


def pump(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def open_window(document: Any, model: str, staging_height: int) -> tuple[QApplication, Any, list]:
    """(app, window, errors): a dark 1600×1000 window on `document`, the staging strip shown,
    the model loaded; `errors` collects every failure the engine reports from now on (the
    caller stops on the first). Exits with code 2 if the model does not load."""
    from rfedit_desktop.jobs import ModelChoice
    from rfedit_desktop.ui.main_window import MainWindow
    from rfedit_desktop.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    window = MainWindow(restore_state=False)
    window.resize(1600, 1000)
    window.set_document(document)
    window.show()
    ai = window.ai_editing
    ai.staging_dock.show()
    window.resizeDocks([ai.staging_dock], [staging_height], Qt.Orientation.Vertical)
    pump(app, 0.3)
    window.canvas.fit_to_window()

    ready: list[dict] = []
    errors: list[str] = []
    ai.service.model_ready.connect(ready.append)
    ai.service.model_failed.connect(errors.append)
    ai.service.failed.connect(lambda job, message: errors.append(message))
    ai.load_model(ModelChoice(model))
    while not ready and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        raise SystemExit(2)
    return app, window, errors
