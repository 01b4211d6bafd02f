"""The Edit dock in a real 1400×900 window: Run, Cancel, progress and status always in view,
an arrow that says which way Advanced opens, and a model choice checked before it is used."""

from __future__ import annotations

import numpy as np
from ai_window import ai_window_fixture  # noqa: F401  (the ai_window fixture)
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from rfedit_desktop.ui.model_dialog import ModelDialog

LONG_ERROR = ("/home/artist/models/FLUX.1-dev-incomplete-download-of-2026 is not a diffusers "
              "model folder: model_index.json is missing. Point the model at the folder that "
              "contains model_index.json, or run the same hf download again to resume.")


def fully_visible(widget) -> bool:
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def wait_whole(qtbot, label) -> None:
    """Wait for the layout to settle; fails if a word-wrapped label never gets its height."""
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()),
                    timeout=3000)


def expand_advanced(qtbot, panel) -> None:
    button = panel.advanced.toggleButton()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    content = panel.advanced.content()
    qtbot.waitUntil(lambda: panel.advanced.isExpanded()
                    and content.height() >= content.sizeHint().height(), timeout=5000)
    QApplication.processEvents()


def test_run_cancel_progress_and_status_stay_in_view(qtbot, ai_window) -> None:
    panel = ai_window.ai.panel
    expand_advanced(qtbot, panel)
    qtbot.waitUntil(lambda: fully_visible(panel.steps_spin), timeout=3000)  # opened in view
    panel.show_status(LONG_ERROR, error=True)
    wait_whole(qtbot, panel.status_label)
    for widget in (panel.run_button, panel.cancel_button, panel.progress_bar,
                   panel.status_label):
        assert fully_visible(widget), widget.objectName() or widget.text()
    # the parameters scroll instead: the last one is reachable
    panel.params_scroll.ensureWidgetVisible(panel.variants_spin)
    QApplication.processEvents()
    assert fully_visible(panel.variants_spin)
    assert fully_visible(panel.run_button)


def _ink(icon) -> np.ndarray:
    image = icon.pixmap(24, 24).toImage().convertToFormat(
        icon.pixmap(24, 24).toImage().Format.Format_ARGB32)
    w, h = image.width(), image.height()
    alpha = np.array([[image.pixelColor(x, y).alpha() for x in range(w)] for y in range(h)])
    return alpha > 96


def test_the_advanced_arrow_points_the_way_it_opens(ai_window) -> None:
    section = ai_window.ai.panel.advanced
    right = _ink(section.collapsedIcon())  # closed: ▶
    cols = [c for c in range(right.shape[1]) if right[:, c].any()]
    heights = [int(right[:, c].sum()) for c in cols]
    assert heights[0] > heights[-1] and heights[0] == max(heights)
    down = _ink(section.expandedIcon())  # open: ▼
    rows = [r for r in range(down.shape[0]) if down[r].any()]
    widths = [int(down[r].sum()) for r in rows]
    assert widths[0] > widths[-1] and widths[0] == max(widths)


def _in_model_dialog(qtbot, steps: list, seen: list) -> None:
    """Run `steps` (callables taking the dialog) on the modal model dialog once it is open."""
    def act() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ModelDialog):
            QTimer.singleShot(20, act)
            return
        try:
            for step in steps:
                step(dialog)
        except Exception as exc:  # noqa: BLE001 - reported after exec returns
            seen.append(exc)
        finally:
            if dialog.isVisible():
                dialog.reject()
    QTimer.singleShot(0, act)


def _type_folder_and_ok(qtbot, dialog, path: str) -> None:
    radio = dialog.radio["folder"]
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))
    qtbot.mouseClick(dialog.path_edit, Qt.MouseButton.LeftButton)
    dialog.path_edit.selectAll()
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(dialog.path_edit, path)
    box = dialog.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_choose_model_refuses_a_missing_folder_and_stays_open(qtbot, ai_window, tmp_path) -> None:
    ai = ai_window.ai
    missing = str(tmp_path / "no-such-model")
    seen: list = []
    loads_before = ai.service.model_info

    def check(dialog) -> None:
        _type_folder_and_ok(qtbot, dialog, missing)
        seen.append(("open", dialog.isVisible(), dialog.error_label.text()))

    _in_model_dialog(qtbot, [check], seen)
    qtbot.mouseClick(ai.panel.model_button, Qt.MouseButton.LeftButton)
    assert seen and not isinstance(seen[0], Exception), seen
    _, still_open, message = seen[0]
    assert still_open, "the dialog closed on a folder that does not exist"
    assert "does not exist" in message and "no-such-model" in message
    assert ai.models.choice.model == "tiny" and ai.service.model_info == loads_before


def test_loading_shows_at_once_not_after_the_engine_process_has_started(qtbot,
                                                                         ai_window) -> None:
    """A local engine needs seconds to start before it reports; the panel must not say
    "not loaded · idle" meanwhile."""
    panel = ai_window.ai.panel
    assert panel.model_label.property("state") == "idle"
    ai_window.ai.load_model()
    assert panel.model_label.property("state") == "loading"
    assert "engine" in panel.progress_bar.format()
    qtbot.waitUntil(lambda: panel.model_label.property("state") == "ready", timeout=10_000)
    assert panel.progress_bar.format() == "idle"


def test_a_failed_load_clears_loading_and_shows_the_whole_error(qtbot, ai_window,
                                                                tmp_path) -> None:
    ai = ai_window.ai
    ai_window.engine.fail_load = LONG_ERROR
    folder = tmp_path / "FLUX.1-dev"
    folder.mkdir()
    seen: list = []
    _in_model_dialog(qtbot, [lambda d: _type_folder_and_ok(qtbot, d, str(folder))], seen)
    qtbot.mouseClick(ai.panel.model_button, Qt.MouseButton.LeftButton)
    assert not seen, seen
    panel = ai.panel
    qtbot.waitUntil(lambda: panel.model_label.property("state") == "error", timeout=10_000)
    QApplication.processEvents()
    assert "oading" not in panel.progress_bar.format(), panel.progress_bar.format()
    assert panel.status_label.text() == LONG_ERROR
    wait_whole(qtbot, panel.status_label)
    assert fully_visible(panel.status_label)


def test_the_model_dialog_names_the_readmes_download_command(qtbot) -> None:
    from pathlib import Path

    from PySide6.QtWidgets import QLabel

    from rfedit_desktop.jobs import ModelChoice

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    dialog = ModelDialog(ModelChoice("demo"))
    qtbot.addWidget(dialog)
    text = " ".join(label.text() for label in dialog.findChildren(QLabel))
    command = "hf download black-forest-labs/FLUX.1-dev"
    assert command in text and command in readme
    assert "huggingface-cli" not in text
