"""After crashes: every autosave is offered (newest first, by name and local time), only what
the artist opens or discards is touched, and a recovered document keeps its name."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from rfedit_desktop.document.autosave import AutosaveSession, list_recoverable
from rfedit_desktop.document.opening import load_ora, open_image
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.recovery_dialog import RecoveryDialog

DEAD_PID = 2 ** 22 + 12345


@pytest.fixture(autouse=True)
def own_folders_and_zone(tmp_path, monkeypatch):
    """Autosaves per test, and a time zone nine hours east of UTC (no tz database needed)."""
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TZ", "XYZ-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def crashed_session(document, saved_at: str) -> AutosaveSession:
    """An autosave whose process died, last written at `saved_at` (UTC)."""
    session = AutosaveSession()
    session.write(document)
    info = json.loads(session.marker_path.read_text("utf-8"))
    info.update(pid=DEAD_PID, saved_at=saved_at)
    session.marker_path.write_text(json.dumps(info), "utf-8")
    return session


@pytest.fixture
def two_crashes(tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.full((24, 32, 3), (200, 120, 40), np.uint8)).save(photo)
    painted = open_image(str(photo))
    painted.add_layer("strokes on the photo")
    older = crashed_session(painted, "2026-03-01T10:00:00+00:00")
    project = tmp_path / "project.ora"
    doc = open_image(str(photo))
    doc.save(project)
    doc = load_ora(project)
    doc.add_layer("late work")
    newer = crashed_session(doc, "2026-03-02T12:30:00+00:00")
    return older, newer, photo, project


@pytest.fixture
def window(qtbot):
    win = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    win.show()
    qtbot.waitExposed(win)
    return win


def in_recovery_dialog(qtbot, act, seen: list) -> None:
    """Call `act(dialog)` on the recovery dialog once it is open; close any other dialog."""
    def step() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, step)
            return
        try:
            if not isinstance(dialog, RecoveryDialog):
                seen.append(AssertionError(f"unexpected dialog {dialog!r}"))
            else:
                act(dialog)
        except Exception as exc:  # noqa: BLE001 - reported after exec returns
            seen.append(exc)
        finally:
            if dialog.isVisible() and isinstance(dialog, QDialog):
                dialog.reject()
    QTimer.singleShot(0, step)


def click_row(qtbot, dialog: RecoveryDialog, row: int) -> None:
    lst = dialog.list
    rect = lst.visualItemRect(lst.item(row))
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_open_the_older_one_keeps_the_newer_and_the_name(qtbot, window, two_crashes) -> None:
    older, newer, photo, project = two_crashes
    seen: list = []

    def act(dialog) -> None:
        rows = [dialog.list.item(r).text() for r in range(dialog.list.count())]
        seen.append(rows)
        click_row(qtbot, dialog, 1)
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)

    in_recovery_dialog(qtbot, act, seen)
    assert window.recovery.offer_recovery() is True
    assert not any(isinstance(s, Exception) for s in seen), seen
    assert seen[0] == ["project.ora — autosaved 2026-03-02 21:30",
                       "photo.jpg — autosaved 2026-03-01 19:00"], "newest first, local time"
    doc = window.document
    assert "strokes on the photo" in [la.name for la in doc.layers]
    assert doc.display_name == "photo.jpg" and window.windowTitle().startswith("*photo.jpg")
    assert doc.modified and doc.file_path is None, "not saved yet, and never over the photo"
    assert not older.ora_path.exists(), "the opened autosave was taken over by this session"
    assert newer.ora_path.exists(), "the other crash's work was not touched"
    assert [e.session_id for e in list_recoverable()] == [newer.session_id]


def test_discard_removes_only_the_chosen_and_later_keeps_all(qtbot, window,
                                                             two_crashes) -> None:
    older, newer, _photo, project = two_crashes
    seen: list = []

    def later(dialog) -> None:
        qtbot.mouseClick(dialog.later_button, Qt.MouseButton.LeftButton)

    in_recovery_dialog(qtbot, later, seen)
    assert window.recovery.offer_recovery() is False
    assert older.ora_path.exists() and newer.ora_path.exists()

    def discard_newest(dialog) -> None:
        click_row(qtbot, dialog, 0)
        qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
        seen.append([dialog.list.item(r).text() for r in range(dialog.list.count())])
        qtbot.mouseClick(dialog.later_button, Qt.MouseButton.LeftButton)

    in_recovery_dialog(qtbot, discard_newest, seen)
    assert window.recovery.offer_recovery() is False
    assert not any(isinstance(s, Exception) for s in seen), seen
    assert seen[-1] == ["photo.jpg — autosaved 2026-03-01 19:00"]
    assert not newer.ora_path.exists() and older.ora_path.exists()
    assert window.document.display_name == "Untitled", "nothing was opened"


def test_a_recovered_project_keeps_its_path(qtbot, window, two_crashes) -> None:
    _older, _newer, _photo, project = two_crashes
    seen: list = []
    in_recovery_dialog(qtbot, lambda d: qtbot.mouseClick(d.open_button,
                                                         Qt.MouseButton.LeftButton), seen)
    assert window.recovery.offer_recovery() is True
    assert window.document.file_path == str(project)
    assert window.windowTitle().startswith("*project.ora")
