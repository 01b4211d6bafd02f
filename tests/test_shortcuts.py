"""Every key in the README's shortcut table works on a real window and is listed by its usual
name in Help ▸ Keyboard Shortcuts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ai_window import (
    ai_window_fixture,  # noqa: F401  (the ai_window fixture)
    run_by_keyboard,
)
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from rfedit_desktop.ui.new_document_dialog import NewDocumentDialog
from rfedit_desktop.ui.shortcuts_dialog import ShortcutsDialog

README = Path(__file__).resolve().parents[1] / "README.md"
# Rows done with the mouse, the pen, a held key or inside one widget: tested where they live
# (test_ui_canvas, test_compare_key, test_edit_panel).
GESTURE = re.compile(r"\b(drag|wheel|click|hold|turn|pen)\b|staging strip", re.IGNORECASE)


def readme_shortcuts() -> list[tuple[str, str]]:
    """(action label, key) for every key of the README's shortcut table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| Action | Keys |"):].split("\n\n", 1)[0].splitlines()[2:]
    pairs = []
    for row in table:
        label, keys = (cell.strip() for cell in row.strip("|").split("|"))
        if GESTURE.search(label) or GESTURE.search(keys):
            continue
        labels, key_groups = label.split(" / "), keys.split(" / ")
        assert len(labels) == len(key_groups), f"README row does not pair up: {row}"
        for one_label, group in zip(labels, key_groups, strict=True):
            alternatives = re.fullmatch(r"(.+?)(?: \(or (.+)\))?", group).groups()
            pairs += [(one_label, key) for key in alternatives if key]
    return pairs


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text) if len(w) > 2 or w.isdigit()}


def test_the_readme_table_is_read_whole() -> None:
    keys = dict((key, label) for label, key in readme_shortcuts())
    assert keys["Ctrl+Y"] == "Redo" and keys["Ctrl+W"] == "Close"
    assert keys["Ctrl+Enter"] == "Run edit" and keys["Esc"] == "Cancel edit"
    assert len(keys) >= 28


@pytest.fixture
def no_dialogs(monkeypatch):
    """File and name dialogs answer 'cancel' so that every key can be pressed in a row."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    monkeypatch.setattr(NewDocumentDialog, "exec", lambda self: 0)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)


def _prepare(qtbot, window, action) -> None:
    """Put the window in the state where `action` can act (its effect is checked after)."""
    doc, ai = window.document, window.ai
    if action is window.act_undo:
        doc.add_layer("to undo")
    elif action is window.act_redo:
        doc.add_layer("to redo")
        doc.undo_stack.undo()
    elif action is ai.cancel_action:
        window.engine.hold.set()
        run_by_keyboard(qtbot, window, "a large red circle")
        qtbot.waitUntil(ai.cancel_action.isEnabled, timeout=10_000)
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=2000)


def test_every_readme_shortcut_triggers_its_action(qtbot, ai_window, no_dialogs) -> None:
    window = ai_window
    actions = window.all_actions()
    for label, key in readme_shortcuts():
        sequence = QKeySequence(key)
        owners = [a for a in actions if sequence in a.shortcuts()]
        assert len(owners) == 1, f"{key} ({label}) belongs to {[a.text() for a in owners]}"
        action = owners[0]
        assert _words(label) & _words(action.text()), f"{key}: {label} vs {action.text()}"
        _prepare(qtbot, window, action)
        assert action.isEnabled(), f"{key} ({label}) is disabled"
        fired = []
        action.triggered.connect(lambda *_a, f=fired: f.append(1))
        index = window.document.undo_stack.index()
        combo = sequence[0]
        qtbot.keyClick(window.canvas, combo.key(), combo.keyboardModifiers())
        assert fired, f"{key} did not trigger {action.text()}"
        if action is window.act_redo:
            assert window.document.undo_stack.index() == index + 1, f"{key} did not redo"
        if action is window.ai.cancel_action:
            qtbot.waitUntil(lambda: not window.ai.is_busy(), timeout=10_000)
            window.engine.hold.clear()


def test_the_shortcuts_dialog_names_the_readme_keys(qtbot, ai_window) -> None:
    window = ai_window
    dialog = ShortcutsDialog(window.all_actions(), window)
    qtbot.addWidget(dialog)
    table = dialog.table
    listed = {table.item(r, 0).text(): table.item(r, 1).text().split(", ")
              for r in range(table.rowCount())}
    every_key = {k for keys in listed.values() for k in keys}
    for label, key in readme_shortcuts():
        assert key in every_key, f"{key} ({label}) is not in the dialog"
    assert listed["Undo"] == ["Ctrl+Z"]
    assert listed["Redo"] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    assert listed["Run Edit"] == ["Ctrl+Enter"]
    for keys in listed.values():
        for key in keys:
            assert not re.fullmatch(r"F1[3-9]|F2\d|.*Return.*", key), key
