"""Holding backslash compares a staged result with the original wherever the focus is, and
never types into a text field while there is something to compare."""

from __future__ import annotations

from ai_window import (
    ai_window_fixture,  # noqa: F401  (the ai_window fixture)
    stage_by_keyboard,
)
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

BACKSLASH = Qt.Key.Key_Backslash


def _repeat(widget, kind: QEvent.Type) -> None:
    """The auto-repeat a held key sends (X11 repeats press and release pairs)."""
    QApplication.sendEvent(widget, QKeyEvent(kind, BACKSLASH, Qt.KeyboardModifier.NoModifier,
                                             "\\", True))


def test_holding_backslash_in_the_prompt_compares_and_types_nothing(qtbot, ai_window) -> None:
    ai = ai_window.ai
    stage_by_keyboard(qtbot, ai_window, "a large blue circle")
    prompt = ai.panel.prompt_edit
    assert prompt.hasFocus(), "the prompt keeps the focus after Ctrl+Enter"
    assert ai.overlay.image() is not None
    qtbot.keyPress(prompt, BACKSLASH)
    for _ in range(5):
        _repeat(prompt, QEvent.Type.KeyRelease)
        _repeat(prompt, QEvent.Type.KeyPress)
    assert ai.strip.compare.showing_original() and not ai.overlay.isVisible()
    qtbot.keyRelease(prompt, BACKSLASH)
    assert not ai.strip.compare.showing_original() and ai.overlay.isVisible()
    assert prompt.toPlainText() == "a large blue circle"
    assert ai.panel.prompt() == "a large blue circle", "the next run uses the prompt as typed"


def test_backslash_compares_from_the_canvas_and_the_source_prompt(qtbot, ai_window) -> None:
    ai = ai_window.ai
    stage_by_keyboard(qtbot, ai_window, "a small red star")
    for widget in (ai_window.canvas, ai.panel.source_prompt_edit, ai.panel.seed_spin):
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=2000)
        qtbot.keyPress(widget, BACKSLASH)
        assert ai.strip.compare.showing_original(), widget
        qtbot.keyRelease(widget, BACKSLASH)
        assert not ai.strip.compare.showing_original(), widget
    assert ai.panel.source_prompt_edit.text() == ""


def test_with_nothing_to_compare_a_backslash_can_be_typed(qtbot, ai_window) -> None:
    ai = ai_window.ai
    field = ai.panel.source_prompt_edit
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    qtbot.keyClick(field, BACKSLASH)
    assert field.text() == "\\"
    assert not ai.strip.compare.showing_original()


def test_backslash_works_in_a_floating_edit_dock(qtbot, ai_window) -> None:
    ai = ai_window.ai
    stage_by_keyboard(qtbot, ai_window, "a small green heart")
    ai.edit_dock.setFloating(True)
    ai.edit_dock.show()
    qtbot.waitExposed(ai.edit_dock)
    prompt = ai.panel.prompt_edit
    ai.edit_dock.activateWindow()
    prompt.setFocus()
    qtbot.waitUntil(prompt.hasFocus, timeout=2000)
    qtbot.keyPress(prompt, BACKSLASH)
    assert ai.strip.compare.showing_original()
    qtbot.keyRelease(prompt, BACKSLASH)
    assert prompt.toPlainText() == "a small green heart"
